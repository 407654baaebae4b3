"""Card tokens are single use, enforced by the database; secrets are an upsert table."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from bot.store import CardToken, Store

from .conftest import NOW, OpenStore


def token(value: str = "tok-1", *, person_id: str | None = None) -> CardToken:
    return CardToken(
        token=value, org_id="org-1", kind="confirm_enable", person_id=person_id,
        room_id="room-1", message_id=None, payload={"enabled": True}, created_at=NOW,
        expires_at=NOW + timedelta(minutes=15), used_at=None, used_by=None,
    )  # fmt: skip


async def test_token_round_trips_and_takes_its_message(store: Store) -> None:
    await store.create_card_token(token())
    assert await store.get_card_token("tok-1") == token()
    await store.attach_card_message("tok-1", "msg-9")
    saved = await store.get_card_token("tok-1")
    assert saved is not None and saved.message_id == "msg-9"
    assert await store.get_card_token("nope") is None


async def test_a_token_is_consumed_once(store: Store) -> None:
    await store.create_card_token(token())
    assert await store.consume_card_token("tok-1", "p-1", NOW)
    assert not await store.consume_card_token("tok-1", "p-1", NOW)
    saved = await store.get_card_token("tok-1")
    assert saved is not None and (saved.used_at, saved.used_by) == (NOW, "p-1")


async def test_twenty_concurrent_consumers_one_winner(store: Store) -> None:
    await store.create_card_token(token())
    results = await asyncio.gather(
        *(store.consume_card_token("tok-1", f"p-{i}", NOW) for i in range(20))
    )
    assert results.count(True) == 1


async def test_two_store_instances_consume_one_token_once(
    store: Store, open_store: OpenStore
) -> None:
    other = await open_store()
    await store.create_card_token(token())
    results = await asyncio.gather(
        *(s.consume_card_token("tok-1", f"p-{i}", NOW) for i in range(10) for s in (store, other))
    )
    assert results.count(True) == 1


async def test_expired_or_unknown_token_is_not_consumed(store: Store) -> None:
    await store.create_card_token(token())
    assert not await store.consume_card_token("tok-1", "p-1", NOW + timedelta(minutes=15))
    assert not await store.consume_card_token("missing", "p-1", NOW)


async def test_bound_token_is_consumed_only_by_its_person(store: Store) -> None:
    await store.create_card_token(token(person_id="p-1"))
    assert not await store.consume_card_token("tok-1", "p-2", NOW)
    assert await store.consume_card_token("tok-1", "p-1", NOW)


async def test_prune_card_tokens_removes_only_long_expired(store: Store) -> None:
    await store.create_card_token(token("a"))
    await store.create_card_token(replace(token("b"), expires_at=NOW + timedelta(days=2)))
    assert await store.prune_card_tokens(NOW + timedelta(days=1)) == 1
    assert await store.get_card_token("a") is None
    assert await store.get_card_token("b") is not None


async def test_secrets_upsert(store: Store) -> None:
    assert await store.get_secret("oauth") is None
    await store.put_secret("oauth", "v1")
    await store.put_secret("oauth", "v2")
    await store.put_secret("other", "x")
    assert (await store.get_secret("oauth"), await store.get_secret("other")) == ("v2", "x")


async def test_the_event_that_used_a_token_may_use_it_again_after_a_restart(
    store: Store,
) -> None:
    await store.create_card_token(token("resume"))
    assert await store.consume_card_token("resume", "p-1", NOW, event_key="attachmentActions:1")
    assert await store.consume_card_token("resume", "p-1", NOW, event_key="attachmentActions:1")
    assert not await store.consume_card_token("resume", "p-1", NOW,
                                              event_key="attachmentActions:2")
    assert not await store.consume_card_token("resume", "p-1", NOW)
