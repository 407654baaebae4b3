"""The conversation under attack and faults, against `python -m bot serve` and the emulator:
forged envelopes (14.3), a flood of refused card presses (14.4), a Webex outage around reading
the message and posting the reply (14.8), and kill -9 while the reply is posted (14.9), in a
1:1 space and in a group space."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.emulator import Emulator
from tests.e2e.helpers import card_text, envelope_for, puts, submit_data
from tests.load.test_outages import answers, fresh_database
from tests.procs import (
    HoldAfterApply,
    Serve,
    emulator_holding,
    post_to,
    restartable_serve,
    run_cli,
    start_serve,
    wait_for,
)

pytestmark = pytest.mark.load
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def hold() -> HoldAfterApply:
    return HoldAfterApply("POST", "/messages")


@pytest.fixture
async def emu(hold: HoldAfterApply) -> AsyncIterator[Emulator]:
    async with emulator_holding(hold) as emulator:
        yield emulator


@pytest.fixture
async def serve(emu: Emulator, tmp_path: Path) -> AsyncIterator[Serve]:
    async with restartable_serve(emu, tmp_path, f"sqlite:///{tmp_path}/bot.db") as start:
        yield start


def bot_messages(emu: Emulator, room: str, after: dict[str, Any]) -> list[dict[str, Any]]:
    """What the bot posted in `room` since the message `after`."""
    room_id = emu.seed.rooms[room]
    return [m for m in emu.state.messages.values()
            if m["personId"] == emu.seed.bot_id and m["roomId"] == room_id
            and m["created"] >= after["created"] and m["id"] != after["id"]]


def delivered(emu: Emulator, data_id: str) -> Callable[[], bool]:
    return lambda: any(d.data_id == data_id and d.ok for d in emu.deliveries)


def action_envelope(emu: Emulator, action: dict[str, Any], person_id: str) -> bytes:
    """An attachmentActions/created envelope for `action`, naming `person_id` as the presser."""
    return json.dumps({
        "id": "webhook-under-test", "name": "ecn-bot attachmentActions",
        "targetUrl": "http://127.0.0.1/webhooks/webex", "resource": "attachmentActions",
        "event": "created", "orgId": emu.seed.org_id, "createdBy": emu.seed.bot_id,
        "appId": "app", "ownedBy": "creator", "status": "active",
        "created": action["created"], "actorId": person_id,
        "data": {"id": action["id"], "type": "submit", "messageId": action["messageId"],
                 "personId": person_id, "roomId": action["roomId"],
                 "created": action["created"]},
    }).encode()


async def test_an_envelope_naming_an_admin_does_not_lend_her_authority(
    emu: Emulator, tmp_path: Path
) -> None:
    # No webhooks: this test delivers every envelope itself, as an attacker holding the
    # webhook secret (readable with the bot token through GET /webhooks) could.
    bot = await start_serve(emu, tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/bot.db")
    alice = emu.seed.people["alice"]
    try:
        own = await emu.post_message(person="bob", room="direct_bob",
                                     text="enable evil@example.com")
        forged = json.loads(envelope_for(emu, own))
        forged["data"].update(personId=alice.id, personEmail=alice.email)
        assert await post_to(bot.webhook_url, json.dumps(forged).encode()) == 200

        emu.set_setting(emergencyCallNotificationEnabled=True)
        asked = await emu.post_message(person="alice", room="group", text="disable",
                                       mention_bot=True)
        assert await post_to(bot.webhook_url, envelope_for(emu, asked)) == 200
        await wait_for(lambda: bot_messages(emu, "group", asked), 10, "the confirmation")
        card = bot_messages(emu, "group", asked)[0]
        pressed = await emu.press_card(person="bob", message_id=card["id"],
                                       inputs=submit_data(card, "Turn off notifications"))
        assert await post_to(bot.webhook_url, action_envelope(emu, pressed, alice.id)) == 200
        await bot.wait_idle()
    finally:
        await bot.stop()

    assert puts(emu) == []
    assert emu.setting()["emergencyCallNotificationEnabled"] is True
    assert bot_messages(emu, "direct_bob", own) == []  # refused without a word to the sender
    assert len(bot_messages(emu, "group", asked)) == 1  # the confirmation card only
    log = bot.output()
    assert f"event messages:{own['id']}: refused: the envelope's personId" in log
    assert f"event attachmentActions:{pressed['id']}: refused: the envelope's personId" in log


async def test_eighty_refused_presses_cost_two_answers_and_one_audit_row(
    emu: Emulator, serve: Serve, tmp_path: Path
) -> None:
    bot = await serve(COMMAND_BURST="30", COMMAND_RATE_PER_MINUTE="1")  # 30 at once, then slowly
    emu.set_setting(emergencyCallNotificationEnabled=True)
    asked = await emu.post_message(person="alice", room="group", text="disable", mention_bot=True)
    await wait_for(lambda: bot_messages(emu, "group", asked), 10, "the confirmation")
    card = bot_messages(emu, "group", asked)[0]
    turn_off = submit_data(card, "Turn off notifications")
    before = len(emu.calls())
    presses = [await emu.press_card(person="bob", message_id=card["id"], inputs=turn_off)
               for _ in range(80)]
    await wait_for(lambda: all(delivered(emu, p["id"])() for p in presses), 30, "deliveries")
    await bot.wait_idle(30)
    status, out, err = await run_cli(emu, tmp_path, "audit", "export", "--format", "jsonl",
                                     DATABASE_URL=f"sqlite:///{tmp_path}/bot.db")
    await bot.stop()

    answers = [card_text(m) for m in bot_messages(emu, "group", asked)[1:]]
    assert len(answers) == 2, answers
    assert any("Only the person who asked" in a for a in answers)
    assert any("Please slow down" in a for a in answers)
    reads = [c for c in emu.calls()[before:]
             if c.method == "GET" and c.path.startswith("/attachment/actions")]
    assert 30 <= len(reads) <= 31  # beyond the limit (and a refill) no Webex call
    assert status == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["person_email"], r["action"], r["outcome"], r["repeats"]) for r in rows] == [
        ("bob@acme.example", "disable", "refused", len(reads))]
    assert puts(emu) == []


@pytest.mark.parametrize(("method", "path", "logged"), [
    ("GET", "/messages/*", "the message could not be read"),  # reading the command
    ("POST", "/messages", "posting reply 1 failed"),  # posting the answer
])
async def test_a_webex_outage_is_retried_and_answered_once(
    emu: Emulator, serve: Serve, method: str, path: str, logged: str
) -> None:
    bot = await serve()
    # Longer than the gateway's own retries (about 3 s): the event goes back to the inbox.
    emu.faults.add(method=method, path=path, status=503, times=12)
    sent = await emu.post_message(person="alice", room="direct_alice",
                                  text="enable ops@example.com")
    await wait_for(lambda: bot_messages(emu, "direct_alice", sent), 40, "the answer")
    await bot.wait_idle()
    await asyncio.sleep(0.5)  # a second answer, if one were posted, would be there by now
    await bot.stop()

    assert [w.json["emailAddress"] for w in puts(emu)] == ["ops@example.com"]  # once
    answers = bot_messages(emu, "direct_alice", sent)
    assert len(answers) == 1 and "Setting changed" in card_text(answers[0])
    assert logged in bot.output() and "trying again at" in bot.output()


async def test_a_message_webex_will_not_give_is_answered_so_in_the_room(
    emu: Emulator, serve: Serve
) -> None:
    bot = await serve()
    emu.faults.add(method="GET", path="/messages/*", status=404, times=1)
    sent = await emu.post_message(person="alice", room="direct_alice", text="status")
    await wait_for(lambda: bot_messages(emu, "direct_alice", sent), 20, "the answer")
    await bot.wait_idle()
    await bot.stop()

    (answer,) = bot_messages(emu, "direct_alice", sent)
    assert "I could not read your message" in card_text(answer)
    assert "send it again" in card_text(answer)


async def test_a_message_webex_will_not_give_is_answered_without_waiting_for_the_roles(
    emu: Emulator, serve: Serve
) -> None:
    # Alice's first command: her roles are read (GET /people) while the message is, and
    # that lookup is slow. The message's 404 is answered at once, not after the lookup.
    bot = await serve()
    emu.faults.latency("/people/*", 3.0)
    emu.faults.add(method="GET", path="/messages/*", status=404, times=1)
    sent = await emu.post_message(person="alice", room="direct_alice", text="status")
    await wait_for(lambda: bot_messages(emu, "direct_alice", sent), 20, "the answer")
    people_answered = emu.calls("GET", f"/people/{sent['personId']}")
    await bot.wait_idle()
    await bot.stop()

    (answer,) = bot_messages(emu, "direct_alice", sent)
    assert "I could not read your message" in card_text(answer)
    assert people_answered == []  # the answer was there before the roles came back
    assert "never retrieved" not in bot.output()


async def test_killed_while_the_reply_is_posted_it_is_not_posted_again(
    emu: Emulator, serve: Serve, hold: HoldAfterApply
) -> None:
    first = await serve()
    hold.seconds = 5.0
    sent = await emu.post_message(person="alice", room="direct_alice",
                                  text="enable ops@example.com")
    await asyncio.wait_for(hold.applied.wait(), 15)  # Webex posted the card; its answer waits
    await first.kill()
    hold.seconds = 0
    assert len(bot_messages(emu, "direct_alice", sent)) == 1

    second = await serve()
    await wait_for(lambda: f"event messages:{sent['id']}: resumed" in second.output(), 20,
                   "the resumed event")
    await second.wait_idle()
    await asyncio.sleep(0.5)  # a second card, if one were posted, would be there by now
    await second.stop()

    answers = bot_messages(emu, "direct_alice", sent)
    assert len(answers) == 1 and "Setting changed" in card_text(answers[0])
    assert len(puts(emu)) == 1


@pytest.mark.parametrize("database", ["sqlite", "sqlite-one-process", "postgresql"])
async def test_killed_while_a_group_reply_is_posted_it_is_not_posted_again(
    emu: Emulator, tmp_path: Path, hold: HoldAfterApply, database: str
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        if database == "postgresql":
            url = await stack.enter_async_context(fresh_database())
        else:
            url = f"sqlite:///{tmp_path}/bot.db"
        serve = await stack.enter_async_context(restartable_serve(emu, tmp_path, url))
        receiver = "false" if database == "sqlite-one-process" else "true"
        first = await serve(RECEIVER_PROCESS=receiver)
        hold.seconds = 5.0
        sent = await emu.post_message(person="alice", room="group",
                                      text="enable ops@example.com", mention_bot=True)
        await asyncio.wait_for(hold.applied.wait(), 15)  # Webex posted the card; its answer waits
        (card,) = answers(emu, sent["id"])
        # Webex tells the bot of its own message at once: the receiver keeps its ids.
        await wait_for(delivered(emu, card["id"]), 10, "the notice of the bot's own reply")
        await first.kill()
        hold.seconds = 0

        second = await serve(RECEIVER_PROCESS=receiver)
        await wait_for(lambda: f"event messages:{sent['id']}: resumed" in second.output(), 20,
                       "the resumed event")
        await second.wait_idle()
        await asyncio.sleep(0.5)  # a second card, if one were posted, would be there by now
        await second.stop()

    replies = answers(emu, sent["id"])
    assert len(replies) == 1 and "Setting changed" in card_text(replies[0])
    assert len(puts(emu)) == 1
    assert "reply 1 found in the space; not posted again" in second.output()
