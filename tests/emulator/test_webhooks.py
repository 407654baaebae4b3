"""Webhook registration and delivery: signed bodies, who hears what, failures, redelivery."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import aiohttp

import tests.emulator as shared
from bot.emulator import Emulator
from tests.emulator import Receiver, call

emu_fixture = shared.emu_fixture
http_fixture = shared.http_fixture
receiver_fixture = shared.receiver_fixture

ENVELOPE_KEYS = {
    "id",
    "name",
    "targetUrl",
    "resource",
    "event",
    "orgId",
    "createdBy",
    "appId",
    "ownedBy",
    "status",
    "created",
    "actorId",
    "data",
}
CARD = shared.card("Save")


async def bot_posts_card_to_alice(http: aiohttp.ClientSession, emu: Emulator) -> dict[str, Any]:
    status, card, _ = await call(
        http, emu, "POST", "/messages", emu.seed.bot_token,
        json={"roomId": emu.seed.rooms["direct_alice"], "markdown": "Card", "attachments": [CARD]},
    )
    assert status == 200, card
    return card


SECRET = "s3cret"


async def _bot_hook(
    http: aiohttp.ClientSession,
    emu: Emulator,
    url: str,
    resource: str,
    secret: str | None = SECRET,
    **extra: str,
) -> dict[str, Any]:
    body = {
        "name": f"kari {resource}",
        "targetUrl": url,
        "resource": resource,
        "event": "created",
        **extra,
    }
    if secret:
        body["secret"] = secret
    status, hook, _ = await call(http, emu, "POST", "/webhooks", emu.seed.bot_token, json=body)
    assert status == 200
    assert isinstance(hook, dict)
    return hook


async def test_delivery_is_signed_over_the_raw_body_with_the_sample_shape(
    emu: Emulator, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    hook = await _bot_hook(http, emu, receiver.url, "messages")
    message = await emu.post_message("alice", "direct_alice", "status")
    headers, raw = await receiver.next()
    expected = hmac.new(SECRET.encode(), raw, hashlib.sha1).hexdigest()
    assert headers["X-Spark-Signature"] == expected
    assert headers["Content-Type"].startswith("application/json")
    envelope = json.loads(raw)
    assert set(envelope) == ENVELOPE_KEYS
    assert (envelope["id"], envelope["actorId"], envelope["createdBy"]) == (
        hook["id"],
        emu.seed.people["alice"].id,
        emu.seed.bot_id,
    )
    assert envelope["data"] == {
        k: message[k] for k in ("id", "roomId", "roomType", "personId", "personEmail", "created")
    }
    [delivery] = emu.deliveries
    assert (delivery.status, delivery.target, delivery.resource) == (200, receiver.url, "messages")


async def test_no_signature_header_without_a_secret(
    emu: Emulator, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await _bot_hook(http, emu, receiver.url, "messages", secret=None)
    await emu.post_message("bob", "direct_bob", "hi")
    headers, _ = await receiver.next()
    assert "X-Spark-Signature" not in headers


async def test_bot_hears_group_messages_only_when_mentioned_but_always_its_own(
    emu: Emulator, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await _bot_hook(http, emu, receiver.url, "messages")
    await emu.post_message("alice", "group", "not for the bot")
    mentioned = await emu.post_message("alice", "group", "status", mention_bot=True)
    _, own, _ = await call(
        http,
        emu,
        "POST",
        "/messages",
        emu.seed.bot_token,
        json={"roomId": emu.seed.rooms["group"], "markdown": "All quiet"},
    )
    await emu.idle()
    ids = [json.loads(raw)["data"]["id"] for _, raw in receiver.received]
    assert ids == [mentioned["id"], own["id"]]


async def test_filters_narrow_deliveries(
    emu: Emulator, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await _bot_hook(http, emu, receiver.url, "messages", filter="roomType=direct")
    await emu.post_message("alice", "group", "status", mention_bot=True)
    direct = await emu.post_message("alice", "direct_alice", "status")
    await emu.idle()
    assert [json.loads(raw)["data"]["id"] for _, raw in receiver.received] == [direct["id"]]


async def test_card_press_goes_to_the_card_author_only(
    emu: Emulator, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await _bot_hook(http, emu, receiver.url, "attachmentActions")
    emu.state.add_webhook(
        emu.seed.people["alice"].id, "alice's", receiver.url, "attachmentActions", "created"
    )
    card = await bot_posts_card_to_alice(http, emu)
    action = await emu.press_card("alice", card["id"], {"action": "save", "enabled": "true"})
    _, raw = await receiver.next()
    envelope = json.loads(raw)
    assert envelope["resource"] == "attachmentActions"
    assert envelope["createdBy"] == emu.seed.bot_id
    assert envelope["data"] == {
        k: action[k] for k in ("id", "type", "messageId", "personId", "roomId", "created")
    }
    assert await receiver.nothing_more(emu)
    status, fetched, _ = await call(
        http, emu, "GET", f"/attachment/actions/{action['id']}", emu.seed.bot_token
    )
    assert (status, fetched["inputs"]) == (200, {"action": "save", "enabled": "true"})
    bob = emu.seed.people["bob"].token
    assert (await call(http, emu, "GET", f"/attachment/actions/{action['id']}", bob))[0] == 404


async def test_press_needs_a_card_in_a_room_of_the_presser(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    card = await bot_posts_card_to_alice(http, emu)
    body = {"type": "submit", "messageId": card["id"], "inputs": {}}
    bob = emu.seed.people["bob"].token
    assert (await call(http, emu, "POST", "/attachment/actions", bob, json=body))[0] == 404
    plain = await emu.post_message("alice", "direct_alice", "no card")
    alice = emu.seed.people["alice"].token
    status, _, _ = await call(
        http, emu, "POST", "/attachment/actions", alice, json={**body, "messageId": plain["id"]}
    )
    assert status == 400
    status, action, _ = await call(http, emu, "POST", "/attachment/actions", alice, json=body)
    assert status == 202 and action["personId"] == emu.seed.people["alice"].id


async def test_adding_the_bot_to_a_room_announces_the_membership(
    emu: Emulator, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await _bot_hook(http, emu, receiver.url, "memberships")
    await emu.add_member(room="lobby", person="bot", by="alice")
    _, raw = await receiver.next()
    envelope = json.loads(raw)
    assert envelope["actorId"] == emu.seed.people["alice"].id
    data = envelope["data"]
    assert (data["personId"], data["personEmail"], data["personDisplayName"]) == (
        emu.seed.bot_id,
        "kari-bot@webex.bot",
        "Kari Bot",
    )
    assert set(data) == {
        "id",
        "roomId",
        "roomType",
        "personId",
        "personEmail",
        "personDisplayName",
        "personOrgId",
        "isModerator",
        "isMonitor",
        "created",
    }


async def test_each_token_sees_only_its_own_webhooks(
    emu: Emulator, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    hook = await _bot_hook(http, emu, receiver.url, "messages")
    alice = emu.seed.people["alice"].token
    _, listed, _ = await call(http, emu, "GET", "/webhooks", alice)
    assert listed["items"] == []
    assert (await call(http, emu, "GET", f"/webhooks/{hook['id']}", alice))[0] == 404
    assert (await call(http, emu, "DELETE", f"/webhooks/{hook['id']}", alice))[0] == 404
    _, mine, _ = await call(http, emu, "GET", "/webhooks", emu.seed.bot_token)
    assert [h["id"] for h in mine["items"]] == [hook["id"]]
    status, _, _ = await call(http, emu, "DELETE", f"/webhooks/{hook['id']}", emu.seed.bot_token)
    assert status == 204 and emu.state.webhooks == {}


async def test_bad_webhook_bodies_are_400(emu: Emulator, http: aiohttp.ClientSession) -> None:
    for bad in (
        {"name": "x", "targetUrl": "ftp://nope", "resource": "messages", "event": "created"},
        {"name": "x", "targetUrl": "http://h/x", "resource": "mystery", "event": "created"},
        {"targetUrl": "http://h/x", "resource": "messages", "event": "created"},
    ):
        assert (await call(http, emu, "POST", "/webhooks", emu.seed.bot_token, json=bad))[0] == 400


async def test_hundred_failures_disable_and_put_active_reactivates(
    emu: Emulator, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    hook = await _bot_hook(http, emu, receiver.url, "messages")
    receiver.status = 500
    for _ in range(100):
        await emu.post_message("bob", "direct_bob", "ping")
    await emu.idle()
    assert emu.state.webhooks[hook["id"]]["status"] == "inactive"
    assert sum(1 for d in emu.deliveries if d.status == 500) == 100
    await emu.post_message("bob", "direct_bob", "unheard")
    await emu.idle()
    assert len(emu.deliveries) == 100
    receiver.status = 200
    status, updated, _ = await call(
        http,
        emu,
        "PUT",
        f"/webhooks/{hook['id']}",
        emu.seed.bot_token,
        json={"name": hook["name"], "targetUrl": hook["targetUrl"], "status": "active"},
    )
    assert (status, updated["status"]) == (200, "active")
    await emu.post_message("bob", "direct_bob", "heard")
    await emu.idle()
    assert emu.deliveries[-1].status == 200


async def test_state_can_disable_a_webhook_directly(
    emu: Emulator, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    hook = await _bot_hook(http, emu, receiver.url, "messages")
    emu.state.set_webhook_status(str(hook["id"]), "inactive")
    await emu.post_message("bob", "direct_bob", "hello?")
    assert await receiver.nothing_more(emu) and receiver.received == []


async def test_redeliver_sends_the_same_signed_body_again(
    emu: Emulator, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await _bot_hook(http, emu, receiver.url, "messages")
    message = await emu.post_message("alice", "direct_alice", "status")
    first_headers, first_raw = await receiver.next()
    again = await emu.redeliver(message["id"], times=3, concurrently=True)
    assert [d.status for d in again] == [200, 200, 200] and all(d.redelivery for d in again)
    assert len(receiver.received) == 4
    for headers, raw in receiver.received[1:]:
        assert raw == first_raw
        assert headers["X-Spark-Signature"] == first_headers["X-Spark-Signature"]


async def test_unreachable_target_is_recorded_as_an_error(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    await _bot_hook(http, emu, "http://127.0.0.1:9/hook", "messages")
    await emu.post_message("alice", "direct_alice", "status")
    await emu.idle()
    [delivery] = emu.deliveries
    assert delivery.status is None and delivery.error
