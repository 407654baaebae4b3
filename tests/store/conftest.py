"""Store fixtures: every test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

Each PostgreSQL test gets its own schema (the store connects with that search_path), dropped
afterwards, so tests neither see each other's rows nor need a fresh database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.store import Store

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

OpenStore = Callable[..., Awaitable[Store]]


@dataclass(frozen=True)
class Database:
    url: str
    schema: str | None


def _plain_pg_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        yield Database(f"sqlite:///{tmp_path / 'store.db'}", None)
        return
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_plain_pg_url(TEST_DATABASE_URL))
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        yield Database(TEST_DATABASE_URL, schema)
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


@pytest.fixture
async def open_store(database: Database) -> AsyncIterator[OpenStore]:
    """Open Store instances on the test database; a second one stands in for a second process."""
    stores: list[Store] = []

    async def _open(**kwargs: Any) -> Store:
        store = await Store.open(database.url, schema=database.schema, **kwargs)
        stores.append(store)
        return store

    yield _open
    for store in stores:
        await store.close()


@pytest.fixture
async def store(open_store: OpenStore) -> Store:
    return await open_store()
