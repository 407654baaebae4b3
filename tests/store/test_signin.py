"""Sign-in rows: a state is used once and only while unexpired; tokens replace only the row
that was refreshed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.store import Store

from .conftest import NOW


def _state(state_id: str = "s1", minutes: int = 10) -> dict[str, Any]:
    return {"id": state_id, "secret_hash": "h" * 64, "person_id": "p-1", "room_id": "r-1",
            "verifier": "sealed-verifier", "created_at": NOW,
            "expires_at": NOW + timedelta(minutes=minutes)}


def _tokens(sealed: str) -> dict[str, Any]:
    return {"person_id": "p-1", "sealed": sealed, "access_expires_at": NOW + timedelta(days=14),
            "refresh_expires_at": NOW + timedelta(days=90), "at": NOW}


async def test_a_state_is_used_by_exactly_one_of_many_callbacks(store: Store) -> None:
    await store.create_sign_in_state(**_state())
    results = await asyncio.gather(*(store.use_sign_in_state("s1", NOW) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    assert (await store.get_sign_in_state("s1")).used_at == NOW  # type: ignore[union-attr]


async def test_an_expired_state_cannot_be_used_and_is_pruned(store: Store) -> None:
    await store.create_sign_in_state(**_state("old", minutes=10))
    later = NOW + timedelta(minutes=10)
    assert not await store.use_sign_in_state("old", later)
    assert not await store.use_sign_in_state("unknown", NOW)
    assert await store.prune_sign_in_states(later + timedelta(seconds=1)) == 1
    assert await store.get_sign_in_state("old") is None


async def test_refreshed_tokens_replace_only_the_row_they_came_from(store: Store) -> None:
    await store.put_person_tokens(org_id="org-1", **_tokens("first"))
    assert await store.replace_person_tokens(previous="first", **_tokens("second"))
    # A second refresher that started from "first" lost the race: nothing is overwritten.
    assert not await store.replace_person_tokens(previous="first", **_tokens("third"))
    assert (await store.get_person_tokens("p-1")).sealed == "second"  # type: ignore[union-attr]
    assert await store.delete_person_tokens("p-1")
    assert not await store.delete_person_tokens("p-1")
    assert await store.get_person_tokens("p-1") is None
