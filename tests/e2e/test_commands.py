"""Text commands end to end: real server, real SDK, the emulator over real sockets."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.emulator import Emulator
from bot.security import sign
from tests.e2e.harness import SECRET, RunningBot, running_bot
from tests.e2e.helpers import (
    card_text,
    counted,
    elements,
    envelope_for,
    post_signed,
    puts,
    reply_to,
    say,
    settle,
)

SETTING = "/telephony/config/emergencyCallNotification"


async def test_admin_enable_writes_all_three_fields_once_and_confirms(
    emu: Emulator, bot: RunningBot
) -> None:
    reply = await say(emu, "alice", "direct_alice", "enable ops@example.com")

    writes = puts(emu)
    assert len(writes) == 1
    assert writes[0].query == {"orgId": emu.seed.org_id}
    assert writes[0].json == {
        "emergencyCallNotificationEnabled": True,
        "allowEmailNotificationAllLocationEnabled": False,
        "emailAddress": "ops@example.com",
    }
    assert emu.setting()["emergencyCallNotificationEnabled"] is True
    assert reply["roomId"] == emu.seed.rooms["direct_alice"]
    text = card_text(reply)
    assert "ops@example.com" in text
    assert emu.seed.org_name in text
    assert "Alice" in text


async def test_regular_user_cannot_enable(emu: Emulator, bot: RunningBot) -> None:
    reply = await say(emu, "bob", "direct_bob", "enable ops@example.com")

    assert puts(emu) == []
    assert "Full or User Administrator" in card_text(reply)
    assert emu.setting()["emergencyCallNotificationEnabled"] is False


async def test_read_only_admin_reads_status_but_cannot_change(
    emu: Emulator, bot: RunningBot
) -> None:
    status = await say(emu, "rita", "direct_rita", "status")
    assert "security@acme.example" in card_text(status)

    refused = await say(emu, "rita", "direct_rita", "set email x@example.com")
    assert puts(emu) == []
    assert "Read-only Administrator" in card_text(refused)


async def test_admin_of_another_org_is_refused(emu: Emulator, bot: RunningBot) -> None:
    reply = await say(emu, "eve", "direct_eve", "enable eve@example.com")

    assert puts(emu) == []
    assert "another organization" in card_text(reply)


async def test_user_admin_may_change(emu: Emulator, bot: RunningBot) -> None:
    await say(emu, "uma", "direct_uma", "set all-locations on")

    assert [w.json["allowEmailNotificationAllLocationEnabled"] for w in puts(emu)] == [True]


async def test_missing_or_wrong_signature_is_401_and_calls_nothing(
    emu: Emulator, bot: RunningBot
) -> None:
    message = await emu.post_message(person="alice", room="direct_alice", text="hi")
    await reply_to(emu, message)
    await settle()
    before = len(emu.calls())
    body = envelope_for(emu, message)

    assert await post_signed(bot, body, signature=None) == 401
    assert await post_signed(bot, body, signature="0" * 40) == 401
    assert await post_signed(bot, body + b" ", signature=None) == 401
    await settle()
    assert len(emu.calls()) == before


async def test_signed_garbage_is_400(emu: Emulator, bot: RunningBot) -> None:
    before = len(emu.calls())
    assert await post_signed(bot, b"not json") == 400
    assert await post_signed(bot, b'{"resource": "messages"}') == 400
    assert await post_signed(bot, b"[" * 60_000) == 400  # deep, under the 64 KiB limit
    assert await post_signed(bot, b"x" * (1024 * 1024 + 10)) == 413
    await settle()
    assert len(emu.calls()) == before


async def test_the_same_event_delivered_at_once_runs_once(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, webhooks=False) as bot:
        message = await emu.post_message(person="alice", room="direct_alice",
                                         text="enable twice@example.com")
        body = envelope_for(emu, message)
        statuses = await asyncio.gather(*(post_signed(bot, body) for _ in range(5)))
        assert statuses == [200] * 5
        await bot.idle()
        await settle()
        assert len(puts(emu)) == 1
        replies = [m for m in emu.state.messages.values()
                   if m["personId"] == emu.seed.bot_id]
        assert len(replies) == 1


async def test_the_bots_own_message_costs_no_webex_call(
    emu: Emulator, bot: RunningBot
) -> None:
    await say(emu, "alice", "direct_alice", "help")  # the bot's reply is itself delivered back
    await bot.idle()
    await settle()
    own = next(m for m in emu.state.messages.values() if m["personId"] == emu.seed.bot_id)
    before = len(emu.calls())

    assert await post_signed(bot, envelope_for(emu, own)) == 200
    await bot.idle()
    await settle()
    assert len(emu.calls()) == before


async def test_a_mention_in_a_group_space_is_answered_in_its_thread(
    emu: Emulator, bot: RunningBot
) -> None:
    sent = await emu.post_message(person="alice", room="group", text="  /STATUS  ",
                                  mention_bot=True)
    reply = await emu.wait_for_message(
        lambda m: m["personId"] == emu.seed.bot_id and m.get("parentId") == sent["id"])

    assert reply["roomId"] == emu.seed.rooms["group"]
    assert "security@acme.example" in card_text(reply)


async def test_an_invalid_email_is_refused_before_any_put(
    emu: Emulator, bot: RunningBot
) -> None:
    reply = await say(emu, "alice", "direct_alice", "enable not-an-email")

    assert puts(emu) == []
    assert "is not an address I can use" in card_text(reply)


async def test_enable_alone_uses_the_stored_address(emu: Emulator, bot: RunningBot) -> None:
    await say(emu, "alice", "direct_alice", "enable")
    assert puts(emu)[0].json["emailAddress"] == "security@acme.example"

    emu.set_setting(emailAddress="", emergencyCallNotificationEnabled=False)
    reply = await say(emu, "alice", "direct_alice", "enable")
    assert len(puts(emu)) == 1
    assert "No notification address is stored" in card_text(reply)


async def test_enable_refused_for_want_of_an_address_counts_as_refused(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(emailAddress="", emergencyCallNotificationEnabled=False)
    assert "No notification address is stored" in card_text(
        await say(emu, "alice", "direct_alice", "enable"))
    await bot.idle()

    commands = await counted(bot, "ecn_bot_commands_total")
    assert commands.get((("command", "enable"), ("outcome", "refused"))) == 1
    assert (("command", "enable"), ("outcome", "ok")) not in commands


async def test_429_waits_for_retry_after_then_applies_once(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.faults.add(method="PUT", path=SETTING, status=429, retry_after=1, times=1)
    started = time.monotonic()

    await say(emu, "alice", "direct_alice", "enable ops@example.com")

    attempts = emu.calls("PUT", SETTING)
    assert [a.status for a in attempts] == [429, 204]
    assert attempts[1].at - attempts[0].at >= 0.95
    assert time.monotonic() - started >= 1.0
    assert emu.setting()["emailAddress"] == "ops@example.com"


async def test_503_twice_then_success_applies_once(emu: Emulator, bot: RunningBot) -> None:
    emu.faults.add(method="PUT", path=SETTING, status=503, times=2)

    await say(emu, "alice", "direct_alice", "enable ops@example.com")

    assert [a.status for a in emu.calls("PUT", SETTING)] == [503, 503, 204]
    assert emu.setting()["emergencyCallNotificationEnabled"] is True


async def test_a_webex_error_is_answered_with_its_tracking_id(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.faults.add(method="PUT", path=SETTING, status=400, times=1)

    reply = await say(emu, "alice", "direct_alice", "enable ops@example.com")

    failed = emu.calls("PUT", SETTING)[0]
    assert failed.status == 400
    assert "tracking" in card_text(reply).lower()
    assert emu.setting()["emergencyCallNotificationEnabled"] is False


async def test_roles_lookup_failing_means_no(emu: Emulator, bot: RunningBot) -> None:
    emu.faults.add(method="GET", path="/people/*", status=500, times=None)

    reply = await say(emu, "alice", "direct_alice", "enable ops@example.com")

    assert puts(emu) == []
    assert "could not check your administrator roles" in card_text(reply)


async def test_unknown_command_gets_help(emu: Emulator, bot: RunningBot) -> None:
    reply = await say(emu, "bob", "direct_bob", "make me a sandwich")

    text = card_text(reply)
    assert "not a command I know" in text
    assert "whoami" in text
    assert "enable" not in text  # bob may not change anything, so help does not offer it


async def test_whoami_shows_roles_and_what_they_allow(emu: Emulator, bot: RunningBot) -> None:
    reply = await say(emu, "uma", "direct_uma", "whoami")

    text = card_text(reply)
    assert "User Administrator" in text
    assert "enable" in text


async def test_whoami_tells_a_person_of_another_organization_so(
    emu: Emulator, bot: RunningBot
) -> None:
    reply = await say(emu, "eve", "direct_eve", "whoami")  # a Full Administrator of Globex

    [facts] = [e["facts"] for e in elements(reply) if e["type"] == "FactSet"]
    shown = {f["title"]: f["value"] for f in facts}
    assert shown["Organization"] == "Another organization, not Acme Health (the one I manage)"
    assert shown["Roles"] == "Not visible to me: I see the roles of Acme Health's people only"
    assert "- Organization: Another organization, not Acme Health" in reply["markdown"]
    assert "(none)" not in reply["markdown"].replace("Email: (none)", "")


async def test_the_bot_added_to_a_space_says_hello(emu: Emulator, bot: RunningBot) -> None:
    await emu.add_member(room="lobby", person="bot", by="alice")

    message = await emu.wait_for_message(
        lambda m: m["personId"] == emu.seed.bot_id and m["roomId"] == emu.seed.rooms["lobby"])
    assert "Kari's Law" in card_text(message)


async def test_disable_asks_for_confirmation_and_changes_nothing_yet(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)

    reply = await say(emu, "alice", "direct_alice", "disable")

    assert puts(emu) == []
    assert "Kari" in card_text(reply)
    assert emu.setting()["emergencyCallNotificationEnabled"] is True


async def test_a_body_that_arrives_in_pieces_is_verified_whole(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, webhooks=False) as bot:
        message = await emu.post_message(person="alice", room="direct_alice", text="status")
        body = envelope_for(emu, message)

        async def in_pieces() -> AsyncIterator[bytes]:
            yield body[:40]
            await asyncio.sleep(0.2)
            yield body[40:]

        headers = {"Content-Type": "application/json",
                   "X-Spark-Signature": sign(SECRET.encode(), body)}
        async with aiohttp.ClientSession() as http, http.post(
            bot.webhook_url, data=in_pieces(), headers=headers
        ) as reply:
            assert reply.status == 200
        assert "security@acme.example" in card_text(await reply_to(emu, message))


@pytest.mark.parametrize("data_id", ["x" * 300, "m3\u0000", ""])
async def test_a_signed_envelope_with_an_impossible_id_is_400(
    emu: Emulator, bot: RunningBot, data_id: str
) -> None:
    body = json.dumps({"resource": "messages", "event": "created",
                       "data": {"id": data_id, "roomId": "r", "personId": "p"}}).encode()
    assert await post_signed(bot, body) == 400


async def test_over_the_rate_limit_a_person_is_told_once_and_costs_no_webex_call(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, COMMAND_BURST=2, COMMAND_RATE_PER_MINUTE=1):
        for _ in range(2):
            await say(emu, "bob", "direct_bob", "whoami")
        await emu.idle()
        before = len(emu.calls())

        told = await say(emu, "bob", "direct_bob", "whoami")
        assert "slow down" in card_text(told)
        await emu.post_message(person="bob", room="direct_bob", text="whoami")
        await emu.post_message(person="bob", room="direct_bob", text="whoami")
        await emu.idle()
        await settle(0.5)

        # One reply (the warning) and nothing fetched: neither messages nor roles.
        assert [(c.method, c.path) for c in emu.calls()[before:]] == [("POST", "/messages")]


async def test_the_first_command_waits_for_no_role_or_organization_name(
    emu: Emulator, bot: RunningBot
) -> None:
    """Role names and the organization's name are read at start and kept fresh, so a burst
    of first commands makes only the calls the command itself needs."""
    for _ in range(100):  # read at start, in the background
        if emu.calls("GET", "/roles") and emu.calls("GET", "/organizations/*"):
            break
        await asyncio.sleep(0.02)
    emu.reset()

    card = await say(emu, "alice", "direct_alice", "status")

    assert "Acme Health" in card_text(card)
    assert sorted(f"{c.method} {c.path.split('/')[1]}" for c in emu.calls()) == [
        "GET messages", "GET people", "GET telephony", "POST messages"]
