"""A change interrupted by a crash, resumed: written once, never over a newer change."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.emulator import Emulator
from bot.store import AuditRecord
from tests.e2e.harness import RunningBot, running_bot
from tests.e2e.helpers import (
    card_text,
    envelope_for,
    inputs_of,
    next_bot_message,
    post_signed,
    puts,
    submit_data,
)

BEFORE = {"emergencyCallNotificationEnabled": False,
          "allowEmailNotificationAllLocationEnabled": False,
          "emailAddress": "security@acme.example"}
AFTER = {**BEFORE, "emergencyCallNotificationEnabled": True, "emailAddress": "ops@acme.example"}


async def interrupted(emu: Emulator, bot: RunningBot) -> dict[str, Any]:
    """alice's `enable ops@acme.example`, whose first run crashed after writing its audit row."""
    message = await emu.post_message(person="alice", room="direct_alice",
                                     text="enable ops@acme.example")
    await bot.store.begin_change(AuditRecord(
        id=None, at=datetime.now(UTC), event_key=f"messages:{message['id']}",
        org_id=emu.seed.org_id, person_id=message["personId"], person_email="alice@acme.example",
        room_id=message["roomId"], source="command", action="enable", before=BEFORE,
        after=AFTER, outcome="pending", reason=None, tracking_id=None))
    return message


async def resume(emu: Emulator, bot: RunningBot, message: dict[str, Any]) -> dict[str, Any]:
    assert await post_signed(bot, envelope_for(emu, message)) == 200
    reply = await next_bot_message(emu, message["roomId"])
    await bot.idle()
    return reply


@pytest.fixture
async def quiet_bot(emu: Emulator, tmp_path: Path):  # type: ignore[no-untyped-def]
    async with running_bot(emu, tmp_path, webhooks=False) as bot:
        yield bot


async def test_a_write_that_landed_before_the_crash_is_not_made_again(
    emu: Emulator, quiet_bot: RunningBot
) -> None:
    message = await interrupted(emu, quiet_bot)
    emu.set_setting(**AFTER)  # the PUT reached Webex just before the crash

    reply = await resume(emu, quiet_bot, message)

    assert puts(emu) == []
    assert "ops@acme.example" in card_text(reply)
    [row] = await quiet_bot.store.list_audit(emu.seed.org_id)
    assert row.outcome == "applied"


async def test_a_write_that_never_landed_is_made_once(
    emu: Emulator, quiet_bot: RunningBot
) -> None:
    message = await interrupted(emu, quiet_bot)

    await resume(emu, quiet_bot, message)

    assert [w.json for w in puts(emu)] == [AFTER]
    [row] = await quiet_bot.store.list_audit(emu.seed.org_id)
    assert row.outcome == "applied"


async def test_a_settled_change_that_changed_nothing_says_so_again_when_resumed(
    emu: Emulator, quiet_bot: RunningBot
) -> None:
    emu.set_setting(**AFTER)
    message = await emu.post_message(person="alice", room="direct_alice",
                                     text="enable ops@acme.example")
    row = await quiet_bot.store.begin_change(AuditRecord(
        id=None, at=datetime.now(UTC), event_key=f"messages:{message['id']}",
        org_id=emu.seed.org_id, person_id=message["personId"], person_email="alice@acme.example",
        room_id=message["roomId"], source="command", action="enable", before=AFTER,
        after=AFTER, outcome="pending", reason=None, tracking_id=None))
    assert row.id is not None
    await quiet_bot.store.finish_change(row.id, "unchanged", after=AFTER)  # then the crash

    reply = await resume(emu, quiet_bot, message)

    assert puts(emu) == []
    assert "Nothing to change" in card_text(reply)
    [row] = await quiet_bot.store.list_audit(emu.seed.org_id)
    assert row.outcome == "unchanged"


async def test_a_resumed_write_never_undoes_a_newer_change(
    emu: Emulator, quiet_bot: RunningBot
) -> None:
    message = await interrupted(emu, quiet_bot)
    emu.set_setting(emailAddress="newer@acme.example")  # another admin, while the bot was down

    reply = await resume(emu, quiet_bot, message)

    assert puts(emu) == []
    assert emu.setting()["emailAddress"] == "newer@acme.example"
    assert "Not applied" in card_text(reply)
    [row] = await quiet_bot.store.list_audit(emu.seed.org_id)
    assert (row.outcome, row.reason is not None and "superseded" in row.reason) == ("failed", True)


async def test_a_resumed_press_that_finds_a_newer_setting_settles_its_audit_row(
    emu: Emulator, quiet_bot: RunningBot
) -> None:
    sent = await emu.post_message(person="alice", room="direct_alice", text="edit")
    assert await post_signed(quiet_bot, envelope_for(emu, sent)) == 200
    form = await next_bot_message(emu, sent["roomId"])
    await quiet_bot.idle()
    values = {**inputs_of(form), "enabled": "true", **submit_data(form, "Save")}
    action = await emu.press_card(person="alice", message_id=form["id"], inputs=values)
    # Its first run crashed after writing the audit row; then another admin changed the setting.
    await quiet_bot.store.begin_change(AuditRecord(
        id=None, at=datetime.now(UTC), event_key=f"attachmentActions:{action['id']}",
        org_id=emu.seed.org_id, person_id=action["personId"], person_email="alice@acme.example",
        room_id=action["roomId"], source="card", action="save", before=BEFORE,
        after={**BEFORE, "emergencyCallNotificationEnabled": True}, outcome="pending",
        reason=None, tracking_id=None))
    emu.set_setting(emailAddress="newer@acme.example")

    body = json.dumps({
        "id": "hook", "name": "ecn-bot attachmentActions", "resource": "attachmentActions",
        "event": "created", "orgId": emu.seed.org_id, "actorId": action["personId"],
        "data": {"id": action["id"], "type": "submit", "messageId": form["id"],
                 "personId": action["personId"], "roomId": action["roomId"],
                 "created": action["created"]},
    }).encode()
    assert await post_signed(quiet_bot, body) == 200
    reply = await next_bot_message(emu, form["roomId"])
    await quiet_bot.idle()

    assert puts(emu) == []
    assert "changed" in card_text(reply)
    rows = await quiet_bot.store.list_audit(emu.seed.org_id)
    assert [(r.action, r.outcome) for r in rows] == [("save", "refused")]
