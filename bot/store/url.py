"""Database URL normalization: what operators paste in, turned into what SQLAlchemy async takes."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRES_DRIVER = "postgresql+asyncpg"

# Scheme as written → the async driver we run it on.
_DRIVERS = {
    "sqlite": SQLITE_DRIVER,
    SQLITE_DRIVER: SQLITE_DRIVER,
    "postgres": POSTGRES_DRIVER,  # Heroku's DATABASE_URL form
    "postgresql": POSTGRES_DRIVER,
    POSTGRES_DRIVER: POSTGRES_DRIVER,
}
_SUPPORTED = "sqlite:///path.db or postgresql://user@host/db"
SQLITE_BUSY_TIMEOUT_S = 5.0


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        scheme = url.split(":", 1)[0] if ":" in url else ""
        raise ValueError(f"not a database URL (scheme {scheme!r}); use {_SUPPORTED}") from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}; use {_SUPPORTED}")
    return parsed.set(drivername=driver)


def normalize_database_url(url: str) -> str:
    """Return the SQLAlchemy async URL for a sqlite/postgres(ql) URL; ValueError otherwise."""
    parsed = _parse(url)
    if parsed.drivername == POSTGRES_DRIVER and "sslmode" in parsed.query:
        # libpq's sslmode (Heroku appends ?sslmode=require) is asyncpg's `ssl`;
        # asyncpg takes the same mode names. An explicit ssl= wins.
        mode = parsed.query["sslmode"]
        parsed = parsed.difference_update_query(["sslmode"])
        if "ssl" not in parsed.query:
            parsed = parsed.update_query_dict({"ssl": mode})
    if parsed.drivername == SQLITE_DRIVER and parsed.database in ("", ":memory:"):
        parsed = URL.create(SQLITE_DRIVER, query=parsed.query)  # plain sqlite+aiosqlite://
    return parsed.render_as_string(hide_password=False)


def dialect_of(url: str) -> str:
    """`sqlite` or `postgresql` for a URL normalize_database_url accepts."""
    return "sqlite" if _parse(url).drivername == SQLITE_DRIVER else "postgresql"


def is_memory_sqlite(url: str) -> bool:
    parsed = _parse(url)
    return parsed.drivername == SQLITE_DRIVER and parsed.database in ("", None, ":memory:")


def connect_args_for(url: str, *, schema: str | None = None) -> dict[str, Any]:
    """Driver connect arguments the URL alone cannot carry."""
    if dialect_of(url) == "sqlite":
        if schema is not None:
            raise ValueError("schema= is only supported on PostgreSQL")
        return {"timeout": SQLITE_BUSY_TIMEOUT_S}
    if schema is not None:
        return {"server_settings": {"search_path": schema}}
    return {}


def intake_path(url: str) -> str | None:
    """The receiving process's own file beside a SQLite database (None on PostgreSQL, where
    it writes the inbox itself, and for :memory:)."""
    if dialect_of(url) != "sqlite" or is_memory_sqlite(url):
        return None
    return f"{_parse(url).database}-intake"


def database_problem(url: str) -> str | None:
    """Why the store cannot open `url`, in one line, before anything tries; None when it can
    try (whether the server answers is for the store to find out)."""
    try:
        parsed = _parse(url)
    except ValueError as error:
        return str(error)
    if parsed.drivername != SQLITE_DRIVER or is_memory_sqlite(url):
        return None
    folder = os.path.dirname(os.path.abspath(parsed.database or ""))
    if not os.path.isdir(folder):
        return f"the SQLite database's directory {folder} does not exist"
    return None
