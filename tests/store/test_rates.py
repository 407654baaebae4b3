"""Rate limits live in the database: one bucket per person for every replica, repeats per window."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.store import AuditRecord, Store

from .conftest import NOW, OpenStore

BURST, PER_MINUTE = 30, 60.0


async def take(store: Store, seconds: float = 0.0, key: str = "p-1") -> bool:
    decision = await store.take_rate_token(key, NOW + timedelta(seconds=seconds),
                                           burst=BURST, per_minute=PER_MINUTE)
    return decision.allowed


async def test_a_burst_is_taken_then_refused_with_when_to_come_back(store: Store) -> None:
    assert [await take(store) for _ in range(BURST)] == [True] * BURST
    refused = await store.take_rate_token("p-1", NOW, burst=BURST, per_minute=PER_MINUTE)
    assert not refused.allowed and refused.notify
    assert refused.retry_at == NOW + timedelta(seconds=1)  # one token per second refills
    again = await store.take_rate_token("p-1", NOW, burst=BURST, per_minute=PER_MINUTE)
    assert not again.allowed and not again.notify  # told once, not once per refusal
    assert await take(store, 1.0)  # taken again when the notice said
    later = await store.take_rate_token("p-1", NOW + timedelta(seconds=1), burst=BURST,
                                        per_minute=PER_MINUTE)
    assert not later.allowed and not later.notify  # still the same minute: not told again
    assert await take(store, 2.0)
    for _ in range(BURST):
        await take(store, 60.0)
    assert (await store.take_rate_token("p-1", NOW + timedelta(seconds=60), burst=BURST,
                                        per_minute=PER_MINUTE)).notify  # a minute later


async def test_the_steady_rate_is_taken_forever(store: Store) -> None:
    assert all([await take(store, float(i)) for i in range(3 * BURST)])


async def test_people_have_their_own_buckets(store: Store) -> None:
    for _ in range(BURST):
        await take(store)
    assert not await take(store)
    assert await take(store, key="p-2")


async def test_two_replicas_share_one_bucket(store: Store, open_store: OpenStore) -> None:
    other = await open_store()
    results = await asyncio.gather(*(take(s) for _ in range(BURST) for s in (store, other)))
    assert results.count(True) == BURST


async def test_a_repeat_is_counted_in_its_window_and_opens_a_new_one_after(store: Store) -> None:
    window = timedelta(minutes=1)
    first = await store.count_repeat("card:p-1", NOW, window)
    assert (first.count, first.since, first.audit_id) == (1, NOW, None)
    assert await store.remember_repeat_audit("card:p-1", 7) == 1
    later = await store.count_repeat("card:p-1", NOW + timedelta(seconds=59), window)
    assert (later.count, later.since, later.audit_id) == (2, NOW, 7)
    assert (await store.count_repeat("card:p-2", NOW, window)).count == 1
    fresh = await store.count_repeat("card:p-1", NOW + window, window)
    assert (fresh.count, fresh.since, fresh.audit_id) == (1, NOW + window, None)


async def test_a_refusal_row_says_how_often_it_was_repeated(store: Store) -> None:
    row = await store.add_audit(AuditRecord(
        id=None, at=NOW, event_key="e-1", org_id="org-1", person_id="p-1", person_email=None,
        room_id="r-1", source="card", action="confirm_disable", before=None, after=None,
        outcome="refused", reason="not an administrator", tracking_id=None))
    assert row.id is not None and row.repeats is None
    await store.count_audit_repeats(row.id, 12)
    await store.count_audit_repeats(row.id, 11)  # a count that arrives late never lowers it
    (saved,) = await store.list_audit("org-1")
    assert saved.repeats == 12


async def test_old_buckets_and_windows_are_pruned(store: Store) -> None:
    await take(store)
    await store.count_repeat("card:p-1", NOW, timedelta(minutes=1))
    assert await store.prune_rates(NOW) == 0
    assert await store.prune_rates(NOW + timedelta(hours=1)) == 2
