"""Messages as Webex stores them: mentions, the bot's read rule, limits, threads, edits."""

from __future__ import annotations

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tests.emulator as shared
from bot.emulator import Emulator
from bot.emulator.mentions import render
from tests.emulator import call

emu_fixture = shared.emu_fixture
http_fixture = shared.http_fixture

CARD = shared.card("Save")
SAMPLE_KEYS = {
    "id",
    "roomId",
    "roomType",
    "text",
    "html",
    "mentionedPeople",
    "personId",
    "personEmail",
    "created",
}


async def test_mention_becomes_text_html_and_mentioned_people(emu: Emulator) -> None:
    message = await emu.post_message("alice", "group", "status", mention_bot=True)
    bot = emu.seed.bot_id
    assert set(message) == SAMPLE_KEYS
    assert message["text"] == "Kari Bot status"
    assert message["html"] == (
        f'<p><spark-mention data-object-type="person" '
        f'data-object-id="{bot}">Kari Bot</spark-mention> status</p>'
    )
    assert message["mentionedPeople"] == [bot]
    assert message["created"].endswith("Z") and len(message["created"]) == 24


async def test_direct_message_has_the_sample_shape(emu: Emulator) -> None:
    message = await emu.post_message("alice", "direct_alice", "enable oncall@example.com")
    assert set(message) == {
        "id",
        "roomId",
        "roomType",
        "text",
        "personId",
        "personEmail",
        "created",
    }
    assert message["roomType"] == "direct"


async def test_markdown_mention_by_email(emu: Emulator, http: aiohttp.ClientSession) -> None:
    body = {
        "roomId": emu.seed.rooms["group"],
        "markdown": "Thanks **<@personEmail:alice@acme.example|Alice>**, done",
    }
    status, message, _ = await call(http, emu, "POST", "/messages", emu.seed.bot_token, json=body)
    assert status == 200
    assert message["text"] == "Thanks Alice, done"
    assert message["markdown"] == body["markdown"]
    assert message["mentionedPeople"] == [emu.seed.people["alice"].id]
    assert "spark-mention" in message["html"]


async def test_bot_reads_group_messages_only_when_mentioned(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    plain = await emu.post_message("alice", "group", "lunch anyone?")
    mentioned = await emu.post_message("alice", "group", "status", mention_bot=True)
    direct = await emu.post_message("bob", "direct_bob", "help")
    token = emu.seed.bot_token
    assert (await call(http, emu, "GET", f"/messages/{plain['id']}", token))[0] == 403
    assert (await call(http, emu, "GET", f"/messages/{mentioned['id']}", token))[0] == 200
    assert (await call(http, emu, "GET", f"/messages/{direct['id']}", token))[0] == 200
    alice = emu.seed.people["alice"].token
    assert (await call(http, emu, "GET", f"/messages/{plain['id']}", alice))[0] == 200
    assert (await call(http, emu, "GET", f"/messages/{direct['id']}", alice))[0] == 404
    group = emu.seed.rooms["group"]
    # "Bots must include this parameter [mentionedPeople] to list messages in group rooms."
    assert (await call(http, emu, "GET", "/messages", token, params={"roomId": group}))[0] == 403
    _, listed, _ = await call(http, emu, "GET", "/messages", token,
                              params={"roomId": group, "mentionedPeople": "me"})
    assert [m["id"] for m in listed["items"]] == [mentioned["id"]]


async def test_card_message_and_limits(emu: Emulator, http: aiohttp.ClientSession) -> None:
    room, token = emu.seed.rooms["direct_alice"], emu.seed.bot_token
    ok = {"roomId": room, "markdown": "Settings", "attachments": [CARD]}
    status, message, _ = await call(http, emu, "POST", "/messages", token, json=ok)
    assert status == 200 and message["attachments"] == [CARD]
    for bad in (
        {"roomId": room, "markdown": "x" * 7440},
        {"roomId": room, "markdown": "two", "attachments": [CARD, CARD]},
        {"roomId": room, "markdown": "odd", "attachments": [{**CARD, "contentType": "text/x"}]},
        {"roomId": room},
        {"markdown": "nowhere"},
        {"roomId": room, "toPersonEmail": "alice@acme.example", "text": "both"},
    ):
        status, body, _ = await call(http, emu, "POST", "/messages", token, json=bad)
        assert status == 400, bad
        assert body["trackingId"]
    assert (
        await call(
            http, emu, "POST", "/messages", token, json={"roomId": room, "markdown": "é" * 3719}
        )
    )[0] == 200


async def test_to_person_email_finds_or_creates_the_direct_room(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    token = emu.seed.bot_token
    _, first, _ = await call(
        http,
        emu,
        "POST",
        "/messages",
        token,
        json={"toPersonEmail": "alice@acme.example", "text": "hi"},
    )
    assert first["roomId"] == emu.seed.rooms["direct_alice"]
    _, second, _ = await call(
        http,
        emu,
        "POST",
        "/messages",
        token,
        json={"toPersonId": emu.seed.people["sam"].id, "text": "hi"},
    )
    assert second["roomType"] == "direct"
    status, room, _ = await call(
        http, emu, "GET", f"/rooms/{second['roomId']}", emu.seed.people["sam"].token
    )
    assert (status, room["type"]) == (200, "direct")


async def test_thread_reply_edit_and_delete(emu: Emulator, http: aiohttp.ClientSession) -> None:
    question = await emu.post_message("alice", "group", "status", mention_bot=True)
    token = emu.seed.bot_token
    _, reply, _ = await call(
        http,
        emu,
        "POST",
        "/messages",
        token,
        json={
            "roomId": question["roomId"],
            "parentId": question["id"],
            "markdown": "All **quiet**",
        },
    )
    assert reply["parentId"] == question["id"] and reply["text"] == "All quiet"
    status, edited, _ = await call(
        http,
        emu,
        "PUT",
        f"/messages/{reply['id']}",
        token,
        json={"roomId": reply["roomId"], "markdown": "Still quiet"},
    )
    assert (status, edited["text"]) == (200, "Still quiet") and "updated" in edited
    alice = emu.seed.people["alice"].token
    assert (await call(http, emu, "DELETE", f"/messages/{reply['id']}", alice))[0] == 403
    status, body, _ = await call(http, emu, "DELETE", f"/messages/{reply['id']}", token)
    assert (status, body) == (204, "")
    assert (await call(http, emu, "GET", f"/messages/{reply['id']}", token))[0] == 404


async def test_wait_for_message_sees_the_reply_after_the_last_action(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    await emu.post_message("alice", "direct_alice", "status")
    await call(
        http,
        emu,
        "POST",
        "/messages",
        emu.seed.bot_token,
        json={"roomId": emu.seed.rooms["direct_alice"], "markdown": "first"},
    )
    got = await emu.wait_for_message(lambda m: m["personId"] == emu.seed.bot_id)
    assert got["text"] == "first"
    await emu.post_message("alice", "direct_alice", "again")
    with pytest.raises(TimeoutError):
        await emu.wait_for_message(lambda m: m["personId"] == emu.seed.bot_id, timeout=0.05)


async def test_memberships_and_rooms(emu: Emulator, http: aiohttp.ClientSession) -> None:
    group = emu.seed.rooms["group"]
    status, body, _ = await call(
        http, emu, "GET", "/memberships", emu.seed.bot_token, params={"roomId": group}
    )
    assert status == 200
    assert {m["personEmail"] for m in body["items"]} >= {"alice@acme.example", "kari-bot@webex.bot"}
    lobby = emu.seed.rooms["lobby"]
    assert (await call(http, emu, "GET", f"/rooms/{lobby}", emu.seed.bot_token))[0] == 404
    await emu.add_member("lobby", "bot", by="alice")
    status, room, _ = await call(http, emu, "GET", f"/rooms/{lobby}", emu.seed.bot_token)
    assert (status, room["title"], room["type"]) == (200, "Acme Lobby", "group")
    again = {"roomId": lobby, "personId": emu.seed.bot_id}
    assert (
        await call(http, emu, "POST", "/memberships", emu.seed.people["alice"].token, json=again)
    )[0] == 409


@given(st.text(alphabet=st.characters(blacklist_characters="<>*_~`"), max_size=200))
def test_text_without_mentions_is_kept_as_is(text: str) -> None:
    rendered = render(text, lambda kind, key: None, markdown=True)
    assert rendered.text == text and rendered.mentioned == ()
