"""The watch's tables: watching spaces, the state last seen (saved once), changes and posts."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from bot.store import Store, WatchState

from .conftest import NOW, OpenStore

ORG = "org-1"
SNAP = {"org": {"emergencyCallNotificationEnabled": True}, "locations": {}}


async def test_watch_and_unwatch_are_kept_and_say_whether_anything_changed(store: Store) -> None:
    assert await store.watch_space(ORG, "room-a", "alice", NOW) is True
    assert await store.watch_space(ORG, "room-a", "uma", NOW) is False
    assert await store.watch_space(ORG, "room-b", "uma", NOW + timedelta(seconds=1)) is True
    assert await store.watch_space("org-2", "room-c", "eve", NOW) is True
    assert await store.watching_spaces(ORG) == ["room-a", "room-b"]
    assert await store.unwatch_space(ORG, "room-a", NOW) is True
    assert await store.unwatch_space(ORG, "room-a", NOW) is False
    assert await store.watching_spaces(ORG) == ["room-b"]


async def test_a_check_is_saved_once_with_one_post_per_watching_space(store: Store) -> None:
    await store.watch_space(ORG, "room-a", "alice", NOW)
    await store.watch_space(ORG, "room-b", "uma", NOW)
    empty = await store.watch_state(ORG)
    assert empty == WatchState(ORG)
    first = WatchState(ORG, snapshot=SNAP, seen_at=NOW, checked_at=NOW, outcome="ok")
    assert await store.save_watch(empty, first, [], NOW) == []
    saved = await store.watch_state(ORG)
    assert (saved.version, saved.snapshot, saved.seen_at) == (1, SNAP, NOW)
    # A second checker that read the same state loses: nothing is saved twice.
    assert await store.save_watch(empty, first, [("alert", {"n": 1})], NOW) is None
    later = dataclasses.replace(saved, checked_at=NOW + timedelta(minutes=15))
    [change] = await store.save_watch(saved, later, [("alert", {"n": 2})], NOW) or [0]
    assert await store.save_watch(saved, later, [("alert", {"n": 3})], NOW) is None
    posts = await store.pending_watch_posts(ORG)
    assert [(p.change_id, p.room_id, p.kind, p.body) for p in posts] == [
        (change, "room-a", "alert", {"n": 2}),
        (change, "room-b", "alert", {"n": 2}),
    ]
    assert await store.settle_watch_post(change, "room-a", "posted", NOW, message_id="m1")
    assert not await store.settle_watch_post(change, "room-a", "posted", NOW, message_id="m2")
    assert await store.settle_watch_post(change, "room-b", "pending", NOW)  # one failed try
    [left] = await store.pending_watch_posts(ORG)
    assert (left.room_id, left.attempts) == ("room-b", 1)
    with pytest.raises(ValueError):
        await store.settle_watch_post(change, "room-b", "lost", NOW)


async def test_unwatching_drops_its_pending_posts_and_the_last_space_forgets_the_state(
    store: Store,
) -> None:
    await store.watch_space(ORG, "room-a", "alice", NOW)
    await store.watch_space(ORG, "room-b", "alice", NOW)
    state = WatchState(ORG, snapshot=SNAP, seen_at=NOW, checked_at=NOW, outcome="ok")
    await store.save_watch(WatchState(ORG), state, [("notice", {})], NOW)
    await store.unwatch_space(ORG, "room-a", NOW)
    assert [p.room_id for p in await store.pending_watch_posts(ORG)] == ["room-b"]
    assert (await store.watch_state(ORG)).snapshot == SNAP
    await store.unwatch_space(ORG, "room-b", NOW)
    assert await store.pending_watch_posts(ORG) == []
    forgotten = await store.watch_state(ORG)
    assert forgotten.snapshot is None and forgotten.checked_at == NOW


async def test_one_checker_at_a_time_across_stores(open_store: OpenStore) -> None:
    first, second = await open_store(), await open_store()
    if first.dialect != "postgresql":
        second = first  # SQLite: one process per file; the lock is that process's
    async with first.watch_lock(ORG) as mine:
        assert mine is True
        async with second.watch_lock(ORG) as theirs:
            assert theirs is False
        async with second.watch_lock("org-2") as other_org:
            assert other_org is True
    async with second.watch_lock(ORG) as after:
        assert after is True


@pytest.mark.postgres
async def test_a_dead_holder_s_lock_is_taken_over(open_store: OpenStore) -> None:
    first, second = await open_store(), await open_store()
    if first.dialect != "postgresql":
        pytest.skip("PostgreSQL only")
    holding = asyncio.Event()

    async def hold_forever() -> None:
        async with first.watch_lock(ORG) as got:
            assert got
            holding.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(hold_forever())
    await holding.wait()
    async with second.watch_lock(ORG) as got:
        assert got is False
    await first.close()  # the holder's process dies: its sessions end
    task.cancel()
    async with asyncio.timeout(10):
        while True:
            async with second.watch_lock(ORG) as got:
                if got:
                    break
            await asyncio.sleep(0.1)
