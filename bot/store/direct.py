"""The statements every command runs, on SQLite's own connection inside the caller's transaction.

These are the statements of a command's four transactions (the inbox record, the rate-limit
token, the card token, the event's finish). Through SQLAlchemy Core each cost about twice what
SQLite took to run it: with 20 commands in flight, SQLAlchemy's own code was 11 % of the
worker's CPU (py-spy, benchmarks/README.md). Here they are plain SQL with the values as
SQLAlchemy would store them (the same text for a time, the same JSON), so rows written either
way read the same (tests/store/test_direct.py), and errors are SQLAlchemy's (a locked database
is still its OperationalError). On PostgreSQL, and on aiosqlite (an in-memory database),
`driver` is None and the caller runs its Core statement (`write` picks for a write).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError

from .schema import UTCDateTime

_UTC = UTCDateTime()
_SQLITE = sqlite.dialect()


def driver(conn: Connection) -> sqlite3.Connection | None:
    """The sqlite3 connection under `conn`, or None where the work must go through Core."""
    raw = conn.connection.driver_connection
    return raw if isinstance(raw, sqlite3.Connection) else None


def execute(raw: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
    """`sql` on SQLite's own connection; its errors raised as SQLAlchemy's."""
    try:
        return raw.execute(sql, params)
    except sqlite3.Error as error:
        raise DBAPIError.instance(sql, None, error, sqlite3.Error) from error


def execute_many(raw: sqlite3.Connection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    try:
        raw.executemany(sql, rows)
    except sqlite3.Error as error:
        raise DBAPIError.instance(sql, None, error, sqlite3.Error) from error


def write(conn: Connection, sql: str, params: Sequence[Any], core: Any,
          core_params: Any) -> int:
    """A write, as `sql` on SQLite's own connection or as the Core statement `core` elsewhere:
    how many rows it changed."""
    if (raw := driver(conn)) is None:
        return int(conn.execute(core, core_params).rowcount)
    return execute(raw, sql, params).rowcount


def stamp(value: datetime | None) -> str | None:
    """An aware time as UTCDateTime stores it on SQLite (its own conversion, then SQLAlchemy's
    DATETIME text: microseconds always), so that times compare as text."""
    naive = _UTC.process_bind_param(value, _SQLITE)
    return None if naive is None else naive.isoformat(" ", "microseconds")


def read_stamp(value: str | None) -> datetime | None:
    """A stored time back as an aware UTC datetime."""
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def as_json(value: Any) -> str:
    return json.dumps(value)  # SQLAlchemy's JSON type without a json_serializer
