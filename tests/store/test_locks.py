"""Per-organization locks serialize read-modify-write, and do not pile up."""

from __future__ import annotations

import asyncio

import pytest

from bot.store import Store
from bot.store.locks import org_lock_key

from .conftest import OpenStore


async def _increment(store: Store, counter: list[int], org: str = "org-1") -> None:
    async with store.org_lock(org):
        seen = counter[0]
        await asyncio.sleep(0.01)  # a slow read-modify-write, e.g. GET then PUT
        counter[0] = seen + 1


async def test_org_lock_prevents_lost_updates(store: Store) -> None:
    counter = [0]
    await asyncio.gather(*(_increment(store, counter) for _ in range(8)))
    assert counter == [8]


async def test_different_orgs_do_not_wait_for_each_other(store: Store) -> None:
    async with store.org_lock("org-1"):
        async with asyncio.timeout(2):
            async with store.org_lock("org-2"):
                pass


async def test_lock_is_released_when_the_block_raises(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.org_lock("org-1"):
            raise RuntimeError("boom")
    async with asyncio.timeout(2), store.org_lock("org-1"):
        pass


async def test_a_cancelled_waiter_leaves_the_lock_usable(store: Store) -> None:
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with store.org_lock("org-1"):
            holding.set()
            await release.wait()

    async def waiter() -> None:
        async with store.org_lock("org-1"):
            pytest.fail("the waiter was cancelled before the lock was free")

    held = asyncio.create_task(holder())
    await holding.wait()
    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    release.set()
    await held
    async with asyncio.timeout(2), store.org_lock("org-1"):
        pass


async def test_unused_local_locks_are_dropped(store: Store) -> None:
    if store.dialect != "sqlite":
        pytest.skip("in-process locks are the SQLite implementation")
    counters = {f"org-{i}": [0] for i in range(3)}
    await asyncio.gather(
        *(_increment(store, counters[org], org) for org in counters for _ in range(3))
    )
    assert all(counter == [3] for counter in counters.values())
    assert len(store._local_locks) == 0


async def test_two_store_instances_serialize_on_postgres(
    store: Store, open_store: OpenStore
) -> None:
    if store.dialect != "postgresql":
        pytest.skip("one process per SQLite file; cross-process locking is PostgreSQL's")
    other = await open_store()
    counter = [0]
    await asyncio.gather(*(_increment(s, counter) for _ in range(4) for s in (store, other)))
    assert counter == [8]


@pytest.mark.parametrize("org", ["org-1", "", "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi8x"])
def test_lock_key_is_a_stable_signed_64_bit_int(org: str) -> None:
    key = org_lock_key(org)
    assert -(2**63) <= key < 2**63
    assert key == org_lock_key(org)


def test_lock_keys_differ_between_orgs() -> None:
    assert org_lock_key("org-1") != org_lock_key("org-2")


async def test_two_locations_do_not_wait_and_one_location_serializes(store: Store) -> None:
    async with store.org_lock("org-1", "loc-a"):
        async with asyncio.timeout(2):
            async with store.org_lock("org-1", "loc-b"), store.org_lock("org-1"):
                pass  # another location, and the organization's own setting
    counter = [0]

    async def increment() -> None:
        async with store.org_lock("org-1", "loc-a"):
            seen = counter[0]
            await asyncio.sleep(0.01)
            counter[0] = seen + 1

    await asyncio.gather(*(increment() for _ in range(6)))
    assert counter == [6]
    assert org_lock_key("org-1", "loc-a") not in {org_lock_key("org-1"),
                                                  org_lock_key("org-1", "loc-b")}
