"""Replies' records written with the event's end: kept for whoever resumes the event."""

from __future__ import annotations

from datetime import timedelta

from bot.store import CardToken, Store

from .conftest import NOW

LEASE = timedelta(seconds=30)
POSTED = {"reply1": {"message_id": "m1"}, "reply2": {"message_id": "m2"}}


async def leased(store: Store, key: str, owner: str) -> None:
    await store.record_event(key, "messages", "created", {}, NOW, owner=owner, lease=LEASE)


async def card(store: Store, value: str) -> None:
    await store.create_card_token(CardToken(
        token=value, org_id="org-1", kind="menu", person_id=None, room_id="room-1",
        message_id=None, payload={}, created_at=NOW, expires_at=NOW + LEASE, used_at=None,
        used_by=None))


async def test_an_event_given_back_keeps_the_replies_it_posted(store: Store) -> None:
    await leased(store, "messages:1", "w1")
    await card(store, "tok-1")

    assert await store.release_event("messages:1", "w1", steps=POSTED, cards={"tok-1": "m2"})

    assert await store.get_event_steps("messages:1") == POSTED
    saved = await store.get_card_token("tok-1")
    assert saved is not None and saved.message_id == "m2"
    resumed = await store.claim_event("messages:1", "w2", NOW, LEASE)
    assert resumed is not None and resumed.attempts == 2


async def test_a_finished_event_attaches_its_card(store: Store) -> None:
    await leased(store, "messages:1", "w1")
    await card(store, "tok-1")

    assert await store.finish_event("messages:1", "w1", now=NOW, steps=POSTED,
                                    cards={"tok-1": "m1"})

    saved = await store.get_card_token("tok-1")
    assert saved is not None and saved.message_id == "m1"


async def test_a_finish_after_the_lease_ran_out_leaves_the_replies_for_the_new_holder(
    store: Store,
) -> None:
    await leased(store, "messages:1", "w1")
    assert await store.claim_event("messages:1", "w2", NOW + LEASE, LEASE) is not None

    assert not await store.finish_event("messages:1", "w1", now=NOW + LEASE, steps=POSTED)

    assert await store.get_event_steps("messages:1") == POSTED
    [event] = await store.claimable_events(NOW + 3 * LEASE, timedelta(hours=1))
    assert event.state == "pending"


async def test_steps_recorded_on_their_own_with_a_card(store: Store) -> None:
    await leased(store, "messages:1", "w1")
    await card(store, "tok-1")

    await store.record_steps("messages:1", {"reply1": {"message_id": "m1"}}, {"tok-1": "m1"})

    assert await store.get_event_steps("messages:1") == {"reply1": {"message_id": "m1"}}
    saved = await store.get_card_token("tok-1")
    assert saved is not None and saved.message_id == "m1"
