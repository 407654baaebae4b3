"""Opening, health and closing of the store."""

from __future__ import annotations

import pytest

from bot.store import LATEST_VERSION, Store

from .conftest import NOW


async def test_ping_and_dialect(store: Store) -> None:
    assert await store.ping()
    assert store.dialect in ("sqlite", "postgresql")


async def test_memory_sqlite_keeps_data_across_calls() -> None:
    store = await Store.open("sqlite://")
    try:
        assert await store.schema_version() == LATEST_VERSION
        assert await store.record_event("k", "messages", "created", {}, NOW)
        assert not await store.record_event("k", "messages", "created", {}, NOW)
    finally:
        await store.close()


async def test_unsupported_url_fails_before_connecting() -> None:
    with pytest.raises(ValueError, match="unsupported database URL scheme 'mysql'"):
        await Store.open("mysql://u@h/db")


async def test_ping_is_false_when_the_database_is_gone() -> None:
    store = await Store.open("postgresql://nobody@127.0.0.1:1/none", migrate=False)
    try:
        assert not await store.ping()
    finally:
        await store.close()
