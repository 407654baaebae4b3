"""A lease ends with its owner: at once on PostgreSQL when the owning process's session is
gone, and at a SQLite start for every other owner."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.store import Store
from bot.store.owners import new_owner
from tests.store.conftest import NOW, Database, OpenStore

LEASE = timedelta(seconds=30)
WINDOW = timedelta(minutes=10)


async def record(store: Store, key: str, owner: str) -> None:
    await store.record_event(key, "messages", "created", {"data": {"id": key}}, NOW,
                             owner=owner, lease=LEASE)


@pytest.mark.postgres
async def test_a_dead_processs_lease_is_free_at_once_and_a_live_ones_is_not(
    open_store: OpenStore, database: Database
) -> None:
    if database.schema is None:
        pytest.skip("PostgreSQL only")
    alive, dead, survivor = await open_store(), await open_store(), await open_store()
    alive_owner, dead_owner, me = new_owner(), new_owner(), new_owner()
    await alive.hold_owner(alive_owner)
    await dead.hold_owner(dead_owner)
    await survivor.hold_owner(me)
    await record(alive, "messages:A", alive_owner)
    await record(dead, "messages:D", dead_owner)

    soon = NOW + timedelta(seconds=1)  # both leases run for 29 s more
    assert await survivor.claimable_events(soon, WINDOW) == []
    await dead.close()  # as a SIGKILL would: its session ends, and its lock with it

    assert [e.key for e in await survivor.claimable_events(soon, WINDOW)] == ["messages:D"]
    assert await survivor.claim_event("messages:A", me, soon, LEASE) is None
    taken = await survivor.claim_event("messages:D", me, soon, LEASE)
    assert taken is not None and taken.attempts == 2


async def test_sqlite_gives_back_every_other_owners_lease_at_start(
    open_store: OpenStore, database: Database
) -> None:
    if database.schema is not None:
        pytest.skip("SQLite only")
    store = await open_store()
    await record(store, "messages:OLD", "previous-process")
    await record(store, "messages:MINE", "me")
    soon = NOW + timedelta(seconds=1)
    assert await store.claimable_events(soon, WINDOW) == []

    assert await store.release_other_leases("me") == 1
    assert [e.key for e in await store.claimable_events(soon, WINDOW)] == ["messages:OLD"]


async def test_claimable_events_page_through_a_large_backlog(open_store: OpenStore) -> None:
    store = await open_store()
    for i in range(7):
        await store.record_event(f"messages:{i}", "messages", "created", {}, NOW)
    pages, after = [], None
    while page := await store.claimable_events(NOW, WINDOW, limit=3, after=after):
        pages.append([e.key for e in page])
        after = (page[-1].received_at, page[-1].key)
    assert pages == [["messages:0", "messages:1", "messages:2"],
                     ["messages:3", "messages:4", "messages:5"], ["messages:6"]]
