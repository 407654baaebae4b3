"""A database outage is told from a bug by what the driver said, as PostgreSQL's driver says it."""

from __future__ import annotations

import asyncpg.exceptions
from sqlalchemy.exc import DBAPIError

from bot.store.outage import is_database_outage


def _through_sqlalchemy(driver_error: Exception) -> DBAPIError:
    # SQLAlchemy's asyncpg adapter raises its own DBAPI error from asyncpg's, and SQLAlchemy
    # wraps that one: the shape a failed connect reaches the bot in (CI's outage test).
    adapted = Exception(str(driver_error))
    adapted.__cause__ = driver_error
    return DBAPIError("connect", None, adapted)


def test_a_connection_closed_while_connecting_is_an_outage() -> None:
    closed = asyncpg.exceptions.ConnectionDoesNotExistError(
        "connection was closed in the middle of operation")
    assert is_database_outage(_through_sqlalchemy(closed))


def test_a_constraint_broken_is_not_an_outage() -> None:
    broken = asyncpg.exceptions.UniqueViolationError("duplicate key value")
    assert not is_database_outage(_through_sqlalchemy(broken))
