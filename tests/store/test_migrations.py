"""Migrations: from empty, from v1 with data, idempotent, concurrent, matching schema.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, UniqueConstraint, inspect, text

from bot.store import LATEST_VERSION, MIGRATIONS, CardToken, Store
from bot.store.schema import metadata

from .conftest import NOW, OpenStore

Shape = dict[str, tuple[set[str], set[str], set[str]]]


def _shape(sync_conn: Connection) -> Shape:
    """Columns, indexes and unique constraints per table, as the database reports them."""
    insp = inspect(sync_conn)
    return {
        name: (
            {c["name"] for c in insp.get_columns(name)},
            # PostgreSQL also lists the index behind each UNIQUE constraint.
            {str(i["name"]) for i in insp.get_indexes(name) if "duplicates_constraint" not in i},
            {str(u["name"]) for u in insp.get_unique_constraints(name)},
        )
        for name in insp.get_table_names()
    }


def test_versions_are_contiguous_from_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))
    assert LATEST_VERSION >= 2


async def test_open_migrates_an_empty_database_to_latest(store: Store) -> None:
    assert await store.schema_version() == LATEST_VERSION
    assert await store.migrate() == []  # idempotent


async def test_migrated_database_matches_schema_py(store: Store) -> None:
    async with store._engine.connect() as conn:
        shape = await conn.run_sync(_shape)
    expected = {
        table.name: (
            {c.name for c in table.columns},
            {str(i.name) for i in table.indexes},
            {str(c.name) for c in table.constraints if isinstance(c, UniqueConstraint)},
        )
        for table in metadata.sorted_tables
    }
    assert shape == expected


async def test_migrate_false_leaves_the_database_empty(open_store: OpenStore) -> None:
    store = await open_store(migrate=False)
    assert await store.schema_version() == 0


async def test_upgrade_from_v1_keeps_the_data(open_store: OpenStore) -> None:
    store = await open_store(migrate=False)
    assert await store.migrate(target=1) == [1]
    assert await store.schema_version() == 1
    await store.record_event("messages:1", "messages", "created", {"id": "1"}, NOW)
    await store.set_event_step("messages:1", "reply_sent", {"message_id": "m"})
    async with store._engine.begin() as conn:  # the v1 columns only, as v1 code wrote them
        await conn.execute(text(
            "INSERT INTO audit_log (at, event_key, org_id, person_id, room_id, source, action, "
            "outcome) VALUES (:at, 'messages:1', 'org-1', 'p-1', 'r', 'command', "
            "'enable_notifications', 'pending')"), {"at": NOW})
    await store.create_card_token(CardToken(
        token="t", org_id="org-1", kind="confirm", person_id=None, room_id="r", message_id=None,
        payload={"a": [1, 2]}, created_at=NOW, expires_at=NOW + timedelta(minutes=5),
        used_at=None, used_by=None,
    ))  # fmt: skip

    assert await store.migrate() == list(range(2, LATEST_VERSION + 1))
    assert await store.schema_version() == LATEST_VERSION
    [event] = await store.claimable_events(NOW, timedelta(hours=1))
    assert (event.key, event.body, event.received_at) == ("messages:1", {"id": "1"}, NOW)
    assert await store.get_event_steps("messages:1") == {"reply_sent": {"message_id": "m"}}
    [audit] = await store.list_audit()
    assert (audit.event_key, audit.org_id, audit.action, audit.outcome) == (
        "messages:1", "org-1", "enable_notifications", "pending")
    assert (audit.target_type, audit.target_id, audit.target_name) == (  # the v4 columns
        "organization", "org-1", None)
    assert await store.list_audit(target_id="org-1") == [audit]
    assert await store.consume_card_token("t", "p-1", NOW, event_key="e-1")  # the v3 column
    assert (await store.get_card_token("t")).used_event == "e-1"  # type: ignore[union-attr]
    await store.put_secret("oauth", "v")  # the v2 table
    assert await store.get_secret("oauth") == "v"


async def test_concurrent_starts_migrate_once(open_store: OpenStore) -> None:
    stores = await asyncio.gather(*(open_store() for _ in range(4)))
    for store in stores:
        assert await store.schema_version() == LATEST_VERSION
    async with stores[0]._engine.connect() as conn:
        versions = (await conn.execute(text("SELECT version FROM schema_version"))).scalars()
        assert sorted(versions) == list(range(1, LATEST_VERSION + 1))


async def test_a_failing_migration_changes_nothing(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.store import migrations

    async def broken(conn: Any) -> None:
        await conn.execute(text("CREATE TABLE half_done (x INTEGER)"))
        raise RuntimeError("migration bug")

    store = await open_store(migrate=False)
    await store.migrate(target=1)
    monkeypatch.setattr(
        migrations, "MIGRATIONS", (*MIGRATIONS[:1], migrations.Migration(2, "broken", broken))
    )
    with pytest.raises(RuntimeError, match="migration bug"):
        await store.migrate()
    assert await store.schema_version() == 1
    async with store._engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    assert "half_done" not in tables


async def test_a_database_newer_than_the_code_is_refused(store: Store) -> None:
    async with store._engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO schema_version (version, description, applied_at)"
            " VALUES (99, 'future', CURRENT_TIMESTAMP)"
        ))  # fmt: skip
    with pytest.raises(RuntimeError, match="newer than this code"):
        await store.migrate()


@pytest.mark.parametrize("target", [-1, LATEST_VERSION + 1])
async def test_unknown_target_is_refused(store: Store, target: int) -> None:
    with pytest.raises(ValueError, match="no migration"):
        await store.migrate(target=target)
