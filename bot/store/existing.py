"""Opening the database from the command line: as it is (the read-only commands), or migrated.

`audit export`, `check` and `webhooks list` never create a database and never migrate one: a
mistyped DATABASE_URL must be an error, not an empty database with an empty answer.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.engine import make_url

from .migrations import LATEST_VERSION
from .store import Store
from .url import dialect_of, is_memory_sqlite

OPEN_TIMEOUT_SECONDS = 10.0
HOW_TO_MIGRATE = "`python -m bot serve` creates and migrates it at start"


class DatabaseNotReady(Exception):
    """The database cannot be read as it is; the message says why in one line."""


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL and :memory:)."""
    if dialect_of(url) != "sqlite" or is_memory_sqlite(url):
        return None
    return Path(str(make_url(url).database))


async def open_existing(url: str, timeout: float = OPEN_TIMEOUT_SECONDS) -> tuple[Store, int]:
    """The store and its schema version, without creating or migrating anything."""
    try:
        memory = dialect_of(url) == "sqlite" and is_memory_sqlite(url)
        path = sqlite_file(url)
    except ValueError as error:
        raise DatabaseNotReady(f"DATABASE_URL: {error}") from None
    if memory:
        raise DatabaseNotReady("DATABASE_URL is an in-memory database: there is nothing to read")
    if path is not None and not path.is_file():
        raise DatabaseNotReady(f"no database at {path} (DATABASE_URL); {HOW_TO_MIGRATE}")
    store = await Store.open(url, migrate=False)
    try:
        version = await asyncio.wait_for(store.schema_version(), timeout)
    except Exception as error:  # any failure to answer is "unreachable" to the operator
        await store.close()
        raise DatabaseNotReady("unreachable: the database in DATABASE_URL does not answer "
                               f"({type(error).__name__})") from None
    if version == 0:
        await store.close()
        raise DatabaseNotReady(f"the database in DATABASE_URL is empty; {HOW_TO_MIGRATE}")
    return store, version


def version_problem(version: int) -> str | None:
    """Why a schema version is not the one this code reads, or None."""
    if version > LATEST_VERSION:
        return (f"the database's schema v{version} is newer than this code's "
                f"(v{LATEST_VERSION}): run the newer version of the bot")
    if version < LATEST_VERSION:
        return (f"the database's schema is v{version}, this code needs v{LATEST_VERSION}; "
                f"{HOW_TO_MIGRATE}")
    return None


async def open_current(url: str) -> Store:
    """The store, which must exist at exactly this code's schema (DatabaseNotReady otherwise)."""
    store, version = await open_existing(url)
    problem = version_problem(version)
    if problem is not None:
        await store.close()
        raise DatabaseNotReady(problem)
    return store


async def open_migrated(url: str) -> Store:
    """The store, created and migrated as needed (what `serve` and `webhooks sync` do)."""
    try:
        return await Store.open(url)
    except ValueError as error:
        raise DatabaseNotReady(f"DATABASE_URL: {error}") from None
    except Exception as error:
        raise DatabaseNotReady(
            f"The database in DATABASE_URL cannot be opened ({type(error).__name__}).") from None
