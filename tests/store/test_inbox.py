"""The durable inbox: de-duplication, leases, sweeping windows, per-event steps."""

from __future__ import annotations

import asyncio
from datetime import timedelta, timezone

import pytest

from bot.store import Store

from .conftest import NOW, OpenStore

LEASE = timedelta(seconds=30)
MAX_AGE = timedelta(hours=1)


async def test_first_record_wins_and_duplicates_are_refused(store: Store) -> None:
    assert await store.record_event("messages:1", "messages", "created", {"id": "1"}, NOW)
    assert not await store.record_event("messages:1", "messages", "created", {"id": "x"}, NOW)
    [event] = await store.claimable_events(NOW, MAX_AGE)
    assert event.body == {"id": "1"}
    assert (event.state, event.attempts) == ("pending", 0)


async def test_twenty_concurrent_records_of_one_key_yield_exactly_one_true(store: Store) -> None:
    results = await asyncio.gather(
        *(store.record_event("messages:9", "messages", "created", {"n": i}, NOW) for i in range(20))
    )
    assert results.count(True) == 1


async def test_finished_event_is_still_a_duplicate(store: Store) -> None:
    await store.record_event("messages:1", "messages", "created", {}, NOW)
    await store.claim_event("messages:1", "w1", NOW, LEASE)
    assert await store.finish_event("messages:1", "w1", now=NOW)
    assert not await store.record_event("messages:1", "messages", "created", {}, NOW)


async def test_only_one_of_many_claimers_gets_the_event(store: Store) -> None:
    await store.record_event("messages:1", "messages", "created", {}, NOW)
    claims = await asyncio.gather(
        *(store.claim_event("messages:1", f"w{i}", NOW, LEASE) for i in range(10))
    )
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1
    assert winners[0].attempts == 1


async def test_two_store_instances_claim_exclusively(store: Store, open_store: OpenStore) -> None:
    other = await open_store()
    await store.record_event("messages:1", "messages", "created", {}, NOW)
    a, b = await asyncio.gather(
        store.claim_event("messages:1", "a", NOW, LEASE),
        other.claim_event("messages:1", "b", NOW, LEASE),
    )
    assert (a is None) != (b is None)


async def test_expired_lease_can_be_reclaimed_and_counts_attempts(store: Store) -> None:
    await store.record_event("messages:1", "messages", "created", {}, NOW)
    assert await store.claim_event("messages:1", "crashed", NOW, LEASE)
    assert await store.claim_event("messages:1", "w2", NOW + LEASE / 2, LEASE) is None
    again = await store.claim_event("messages:1", "w2", NOW + LEASE, LEASE)
    assert again is not None and again.attempts == 2
    # The crashed owner has lost it: its finish does not count.
    assert not await store.finish_event("messages:1", "crashed", now=NOW + LEASE)
    assert await store.finish_event("messages:1", "w2", "failed", now=NOW + LEASE, detail="boom")
    assert await store.claim_event("messages:1", "w3", NOW + 10 * LEASE, LEASE) is None


async def test_released_event_is_claimable_again_at_once(store: Store) -> None:
    await store.record_event("messages:1", "messages", "created", {}, NOW)
    await store.claim_event("messages:1", "w1", NOW, LEASE)
    assert await store.claimable_events(NOW, MAX_AGE) == []
    assert not await store.release_event("messages:1", "someone-else")
    assert await store.release_event("messages:1", "w1")
    [event] = await store.claimable_events(NOW, MAX_AGE)
    assert event.key == "messages:1"
    assert await store.claim_event("messages:1", "w2", NOW, LEASE) is not None


async def test_finish_event_refuses_unknown_states(store: Store) -> None:
    with pytest.raises(ValueError, match="done or failed"):
        await store.finish_event("k", "w", "expired", now=NOW)


async def test_claimable_events_window_order_and_limit(store: Store) -> None:
    ages = {
        "old": MAX_AGE + timedelta(seconds=1),
        "b": timedelta(minutes=5),
        "a": timedelta(minutes=10),
        "edge": MAX_AGE,
        "new": timedelta(0),
    }
    for key, age in ages.items():
        await store.record_event(key, "messages", "created", {}, NOW - age)
    await store.record_event("leased", "messages", "created", {}, NOW - timedelta(minutes=1))
    await store.claim_event("leased", "w", NOW, LEASE)
    keys = [e.key for e in await store.claimable_events(NOW, MAX_AGE)]
    assert keys == ["edge", "a", "b", "new"]
    assert [e.key for e in await store.claimable_events(NOW, MAX_AGE, limit=2)] == ["edge", "a"]


async def test_expire_events_marks_only_old_unleased_pending(store: Store) -> None:
    old = NOW - MAX_AGE - timedelta(minutes=1)
    for key in ("old1", "old2", "old-leased", "old-done"):
        await store.record_event(key, "messages", "created", {}, old)
    await store.record_event("fresh", "messages", "created", {}, NOW)
    await store.claim_event("old-leased", "w", NOW, LEASE)
    await store.claim_event("old-done", "w", NOW, LEASE)
    await store.finish_event("old-done", "w", now=NOW)

    assert await store.expire_events(NOW, MAX_AGE) == ["old1", "old2"]
    assert await store.expire_events(NOW, MAX_AGE) == []
    assert not await store.record_event("old1", "messages", "created", {}, NOW)  # still known
    # The leased one expires once its owner's lease lapses without finishing.
    assert await store.expire_events(NOW + LEASE, MAX_AGE) == ["old-leased"]
    assert [e.key for e in await store.claimable_events(NOW, MAX_AGE)] == ["fresh"]


async def test_prune_deletes_finished_rows_and_their_steps_only(store: Store) -> None:
    for key in ("done", "failed", "pending", "recent"):
        await store.record_event(key, "messages", "created", {}, NOW)
        await store.set_event_step(key, "reply_sent", {"message_id": key})
    for key, state in (("done", "done"), ("failed", "failed")):
        await store.claim_event(key, "w", NOW, LEASE)
        await store.finish_event(key, "w", state, now=NOW)
    await store.record_event("expired", "messages", "created", {}, NOW - 2 * MAX_AGE)
    await store.expire_events(NOW, MAX_AGE)
    await store.claim_event("recent", "w", NOW, LEASE)
    await store.finish_event("recent", "w", now=NOW + timedelta(days=2))

    assert await store.prune_events(NOW + timedelta(days=1)) == 3
    assert await store.get_event_steps("done") == {}
    assert await store.get_event_steps("pending") == {"reply_sent": {"message_id": "pending"}}
    assert await store.get_event_steps("recent") != {}
    # Pruned keys are forgotten; kept ones still de-duplicate.
    assert await store.record_event("done", "messages", "created", {}, NOW)
    assert not await store.record_event("recent", "messages", "created", {}, NOW)


async def test_event_steps_are_recorded_and_overwritten(store: Store) -> None:
    await store.record_event("k", "attachmentActions", "created", {}, NOW)
    assert await store.get_event_steps("k") == {}
    await store.set_event_step("k", "change_applied", {"audit_id": 1})
    await store.set_event_step("k", "reply_sent", {"message_id": "m1"})
    await store.set_event_step("k", "reply_sent", {"message_id": "m2"})
    assert await store.get_event_steps("k") == {
        "change_applied": {"audit_id": 1},
        "reply_sent": {"message_id": "m2"},
    }


async def test_datetimes_come_back_aware_utc(store: Store) -> None:
    eastern = timezone(timedelta(hours=-5))
    await store.record_event("k", "messages", "created", {}, NOW.astimezone(eastern))
    [event] = await store.claimable_events(NOW, MAX_AGE)
    assert event.received_at == NOW
    assert event.received_at.utcoffset() == timedelta(0)


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="timezone-aware"):
        await store.record_event("k", "messages", "created", {}, NOW.replace(tzinfo=None))


async def test_a_renewed_lease_keeps_a_long_event_from_being_reclaimed(store: Store) -> None:
    await store.record_event("messages:1", "messages", "created", {}, NOW)
    await store.claim_event("messages:1", "w1", NOW, LEASE)
    assert await store.renew_lease("messages:1", "w1", NOW + LEASE / 2, LEASE)
    assert not await store.renew_lease("messages:1", "other", NOW + LEASE / 2, LEASE)
    assert await store.claim_event("messages:1", "w2", NOW + LEASE, LEASE) is None
    assert await store.claim_event("messages:1", "w2", NOW + 2 * LEASE, LEASE) is not None


async def test_recording_with_a_lease_holds_the_event_like_a_claim(store: Store) -> None:
    assert await store.record_event("messages:1", "messages", "created", {}, NOW,
                                    owner="w1", lease=LEASE)
    assert await store.claim_event("messages:1", "w2", NOW, LEASE) is None
    assert await store.claimable_events(NOW, MAX_AGE) == []
    assert await store.finish_event("messages:1", "w1", now=NOW)
