"""The console's server without a browser: its event stream and what it sends to Webex."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot.demo.console import create_console
from bot.emulator import Emulator

Client = TestClient[Any, Any]


@pytest.fixture
async def console(
    emu: Emulator, aiohttp_client: Callable[[Any], Awaitable[Client]]
) -> Client:
    return await aiohttp_client(create_console(emu))


async def events(stream: aiohttp.ClientResponse) -> AsyncIterator[tuple[str, Any]]:
    """Server-sent events as (name, data), keep-alive comments skipped."""
    name = ""
    async for raw in stream.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield name, json.loads(line.removeprefix("data: "))


async def next_event(stream: AsyncIterator[tuple[str, Any]], wanted: str) -> Any:
    async for name, data in stream:
        if name == wanted:
            return data
    raise AssertionError(f"the stream ended before a {wanted!r} event")


async def test_the_stream_opens_with_the_scene_then_follows_every_change(
    console: Client, emu: Emulator
) -> None:
    async with console.get("/events") as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        stream = events(response)
        scene = await next_event(stream, "scene")
        assert scene["setting"]["emailAddress"] == "security@acme.example"
        assert {p["name"]: p["roles"] for p in scene["people"]}["alice"] == ["Full Administrator"]

        await emu.post_message("alice", "direct_alice", "whoami")
        message = await next_event(stream, "message")
        assert (message["text"], message["personId"]) == ("whoami", emu.seed.people["alice"].id)

        emu.set_setting(emailAddress="desk@acme.example")
        scene = await next_event(stream, "scene")
        assert scene["setting"]["emailAddress"] == "desk@acme.example"

        emu.state.messages.pop(message["id"])
        await emu.post_message("alice", "direct_alice", "help")  # any write wakes the stream
        assert await next_event(stream, "removed") == {"id": message["id"]}


async def test_a_message_in_a_group_space_mentions_the_bot(console: Client, emu: Emulator) -> None:
    room = emu.seed.rooms["group"]
    reply = await console.post("/api/say", json={"person": "bob", "roomId": room, "text": "help"})
    assert reply.status == 200
    sent = emu.state.messages[(await reply.json())["id"]]
    assert sent["text"] == "Kari Bot help"
    assert sent["mentionedPeople"] == [emu.seed.bot_id]


async def test_a_press_webex_refuses_is_passed_on_and_records_nothing(
    console: Client, emu: Emulator
) -> None:
    card = await emu.post_message(
        "alice",
        "direct_alice",
        "a card",
        attachments=[{"contentType": "application/vnd.microsoft.card.adaptive", "content": {}}],
    )
    body = {"person": "bob", "messageId": card["id"], "inputs": {"action": "edit"}}
    reply = await console.post("/api/press", json=body)
    assert reply.status == 404  # bob is not in alice's 1:1 space
    assert (await reply.json())["message"].startswith("Webex answered 404")
    assert emu.state.actions == {}


ALICE_ON = {"person": "alice", "enabled": True, "email": "a@b.example", "allLocations": False}


@pytest.mark.parametrize(
    ("change", "status", "problem"),
    [
        ({"email": ""}, 400, "Control Hub answered 400: An email address is required"),
        ({"email": "not an address"}, 400, "email"),
        ({"enabled": "maybe"}, 400, "boolean"),
        ({"allLocations": None}, 400, "allLocations is required"),
        ({"location": "Riverside Clinic"}, 400, "not a location's"),
        ({"person": "bob"}, 403, "Control Hub answered 403: Bob Brown cannot change"),
        ({"person": "mallory"}, 400, "no such person"),
    ],
)
async def test_control_hub_refuses_a_bad_change_and_changes_nothing(
    console: Client, emu: Emulator, change: dict[str, Any], status: int, problem: str
) -> None:
    body = {k: v for k, v in {**ALICE_ON, **change}.items() if v is not None}
    reply = await console.put("/api/controlhub", json=body)
    assert reply.status == status
    assert problem in (await reply.json())["message"]
    assert emu.setting()["emergencyCallNotificationEnabled"] is False
    assert emu.state.admin_events == []


async def test_a_request_that_is_not_json_is_refused_as_another_site_could_send_it(
    console: Client, emu: Emulator
) -> None:
    body = json.dumps({"person": "alice", "roomId": emu.seed.rooms["group"], "text": "disable"})
    reply = await console.post("/api/say", data=body, headers={"Content-Type": "text/plain"})
    assert reply.status == 415
    assert not emu.state.messages


async def test_control_hub_writes_all_three_fields_as_the_person(
    console: Client, emu: Emulator
) -> None:
    body = {**ALICE_ON, "email": "desk@acme.example", "allLocations": True}
    reply = await console.put("/api/controlhub", json=body)
    assert reply.status == 200
    assert emu.setting() == {
        "emergencyCallNotificationEnabled": True,
        "allowEmailNotificationAllLocationEnabled": True,
        "emailAddress": "desk@acme.example",
    }
    [event] = emu.state.admin_events  # Webex's admin audit log names who did it
    assert event["data"]["actorEmail"] == "alice@acme.example"


async def test_control_hub_changes_one_location_and_leaves_the_organization(
    console: Client, emu: Emulator
) -> None:
    riverside = emu.places.find("Riverside Clinic")
    body = {"person": "alice", "location": riverside["id"], "enabled": False, "email": ""}
    reply = await console.put("/api/controlhub", json=body)
    assert reply.status == 200
    assert (riverside["emergencyCallNotificationEnabled"], riverside["emailAddress"]) == (False, "")
    assert emu.setting()["emailAddress"] == "security@acme.example"
