"""A database that cannot be reached, told from a bug: the first is expected, one line each."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError


def is_database_outage(error: BaseException) -> bool:
    """Whether `error` is the database refusing, dropping or timing out a connection."""
    if isinstance(error, (OperationalError, InterfaceError, DisconnectionError)):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (ConnectionError, TimeoutError))
