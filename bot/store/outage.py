"""A database that cannot be reached, told from a bug: the first is expected, one line each."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError


def is_database_outage(error: BaseException) -> bool:
    """Whether `error` is the database refusing, dropping or timing out a connection."""
    if isinstance(error, (OperationalError, InterfaceError, DisconnectionError)):
        return True
    if isinstance(error, DBAPIError) and (error.connection_invalidated
                                          or _connection_exception(error.orig)):
        return True
    return isinstance(error, (ConnectionError, TimeoutError))


def _connection_exception(orig: BaseException | None) -> bool:
    """The driver's error, or what it wraps, is SQL's class 08 (connection exception): asyncpg's
    "connection was closed in the middle of operation" while connecting reaches SQLAlchemy as a
    plain DBAPIError that its disconnect test does not know."""
    seen = 0
    while orig is not None and seen < 4:
        if str(getattr(orig, "sqlstate", "") or "").startswith("08"):
            return True
        orig, seen = orig.__cause__, seen + 1
    return False
