"""Card forms end to end: every card bound to who may press it, once, in time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.emulator import ApiError, Emulator
from bot.store import CardToken
from tests.e2e.harness import RunningBot, running_bot
from tests.e2e.helpers import (
    card_of,
    card_text,
    counted,
    inputs_of,
    next_bot_message,
    puts,
    say,
    submit_data,
)


async def press(emu: Emulator, person: str, card: dict[str, Any], button: str,
                **inputs: str) -> dict[str, Any]:
    """`person` fills the card's inputs and presses `button`; returns the bot's answer."""
    values = {**inputs_of(card), **submit_data(card, button), **inputs}
    await emu.press_card(person=person, message_id=card["id"], inputs=values)
    return await next_bot_message(emu, card["roomId"])


async def test_edit_form_comes_prefilled(emu: Emulator, bot: RunningBot) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True,
                    allowEmailNotificationAllLocationEnabled=True)

    form = await say(emu, "alice", "direct_alice", "edit")

    assert inputs_of(form) == {"enabled": "true", "email": "security@acme.example",
                               "allLocations": "true"}


async def test_admin_save_writes_once_confirms_and_removes_the_form(
    emu: Emulator, bot: RunningBot
) -> None:
    form = await say(emu, "alice", "direct_alice", "settings")

    answer = await press(emu, "alice", form, "Save", enabled="true", email="desk@acme.example")

    assert [w.json for w in puts(emu)] == [{
        "emergencyCallNotificationEnabled": True,
        "allowEmailNotificationAllLocationEnabled": False,
        "emailAddress": "desk@acme.example",
    }]
    assert "desk@acme.example" in card_text(answer)
    await bot.idle()  # the used card is removed once the press has been answered
    assert form["id"] not in emu.state.messages or emu.state.messages[form["id"]].get("deleted")


async def test_a_non_admin_pressing_an_admins_form_is_refused_and_the_card_still_works(
    emu: Emulator, bot: RunningBot
) -> None:
    form = await say(emu, "alice", "group", "edit")

    refused = await press(emu, "bob", form, "Save", enabled="true")
    assert puts(emu) == []
    assert "not allowed" in card_text(refused).lower()

    await press(emu, "alice", form, "Save", enabled="true")
    assert len(puts(emu)) == 1


async def test_the_same_submission_twice_and_two_quick_presses_make_one_put(
    emu: Emulator, bot: RunningBot
) -> None:
    form = await say(emu, "alice", "direct_alice", "edit")
    values = {**inputs_of(form), "enabled": "true", **submit_data(form, "Save")}

    await asyncio.gather(*(emu.press_card(person="alice", message_id=form["id"], inputs=values)
                           for _ in range(2)))
    await emu.idle()
    await bot.idle()
    await emu.idle()

    assert len(puts(emu)) == 1
    answers = [card_text(m) for m in emu.state.messages.values()
               if m["personId"] == emu.seed.bot_id and m["id"] != form["id"]]
    assert sum("already used" in text for text in answers) == 1
    # The used card is gone from the space, so a Webex client cannot press it again.
    with pytest.raises(ApiError):
        await emu.press_card(person="alice", message_id=form["id"], inputs=values)


async def test_an_expired_card_is_refused(emu: Emulator, tmp_path: Path) -> None:
    async with running_bot(emu, tmp_path, CARD_TOKEN_TTL_SECONDS=1):
        form = await say(emu, "alice", "direct_alice", "edit")
        await asyncio.sleep(1.1)

        refused = await press(emu, "alice", form, "Save", enabled="true")

        assert puts(emu) == []
        assert "expired" in card_text(refused)


async def test_only_the_requester_can_confirm_turning_notifications_off(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)
    confirm = await say(emu, "alice", "group", "disable")

    refused = await press(emu, "uma", confirm, "Turn off notifications")
    assert puts(emu) == []
    assert "Only the person who asked" in card_text(refused)

    done = await press(emu, "alice", confirm, "Turn off notifications")
    assert [w.json["emergencyCallNotificationEnabled"] for w in puts(emu)] == [False]
    assert emu.setting()["emergencyCallNotificationEnabled"] is False
    assert "security@acme.example" in card_text(done)


async def test_a_stale_form_is_refused_with_a_fresh_form(emu: Emulator, bot: RunningBot) -> None:
    form = await say(emu, "alice", "direct_alice", "edit")
    emu.set_setting(emailAddress="changed-in-control-hub@acme.example")

    values = {**inputs_of(form), "enabled": "true", **submit_data(form, "Save")}
    await emu.press_card(person="alice", message_id=form["id"], inputs=values)
    notice = await next_bot_message(emu, form["roomId"])
    fresh = await emu.wait_for_message(
        lambda m: m["personId"] == emu.seed.bot_id and m["id"] != notice["id"]
        and "email" in inputs_of(m) if m.get("attachments") else False)

    assert puts(emu) == []
    assert "changed" in card_text(notice)
    assert inputs_of(fresh)["email"] == "changed-in-control-hub@acme.example"
    await bot.idle()
    commands = await counted(bot, "ecn_bot_commands_total")
    assert commands.get((("command", "card:save_settings"), ("outcome", "refused"))) == 1
    assert (("command", "card:save_settings"), ("outcome", "ok")) not in commands


async def test_forged_tampered_and_foreign_tokens_are_refused(
    emu: Emulator, bot: RunningBot
) -> None:
    form = await say(emu, "alice", "direct_alice", "edit")
    forged = await press(emu, "alice", form, "Save", token="A" * 43, enabled="true")
    assert "do not recognise this card" in card_text(forged)

    emu.set_setting(emergencyCallNotificationEnabled=True)
    confirm = await say(emu, "alice", "direct_alice", "disable")
    other_kind = {**inputs_of(form), "enabled": "true", "action": "save_settings",
                  "token": submit_data(confirm, "Turn off notifications")["token"]}
    await emu.press_card(person="alice", message_id=confirm["id"], inputs=other_kind)
    tampered = await next_bot_message(emu, confirm["roomId"])
    assert "does not match" in card_text(tampered)

    now = datetime.now(UTC)
    await bot.store.create_card_token(CardToken(
        token="G" * 43, org_id=emu.seed.other_org_id, kind="edit_form", person_id=None,
        room_id=form["roomId"], message_id=form["id"],
        payload={"shown": emu.setting()}, created_at=now,
        expires_at=now + timedelta(minutes=5), used_at=None, used_by=None))
    foreign = await press(emu, "alice", form, "Save", token="G" * 43, enabled="true")
    assert "another organization" in card_text(foreign)
    assert puts(emu) == []


async def test_inputs_arrive_as_strings_and_garbage_gets_a_clear_reply(
    emu: Emulator, bot: RunningBot
) -> None:
    form = await say(emu, "alice", "direct_alice", "edit")

    bad_email = await press(emu, "alice", form, "Save", email="not an email")
    assert "email" in card_text(bad_email)
    bad_toggle = await press(emu, "alice", form, "Save", enabled="maybe")
    assert "enabled" in card_text(bad_toggle)
    await emu.press_card(person="alice", message_id=form["id"], inputs={"foo": "bar"})
    no_action = await next_bot_message(emu, form["roomId"])
    assert "not one I know" in card_text(no_action)
    assert puts(emu) == []

    await press(emu, "alice", form, "Save", enabled="true", allLocations="true")
    assert puts(emu)[0].json["allowEmailNotificationAllLocationEnabled"] is True


async def test_a_form_that_turns_notifications_off_asks_to_confirm(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)
    form = await say(emu, "alice", "direct_alice", "edit")

    confirm = await press(emu, "alice", form, "Save", enabled="false",
                          email="new@acme.example")
    assert puts(emu) == []
    assert "Kari" in card_text(confirm)

    await press(emu, "alice", confirm, "Turn off notifications")
    assert [w.json for w in puts(emu)] == [{
        "emergencyCallNotificationEnabled": False,
        "allowEmailNotificationAllLocationEnabled": False,
        "emailAddress": "new@acme.example",
    }]


async def test_cancel_changes_nothing_and_uses_the_card(emu: Emulator, bot: RunningBot) -> None:
    form = await say(emu, "alice", "direct_alice", "edit")

    cancelled = await press(emu, "alice", form, "Cancel")
    assert "Nothing was changed" in card_text(cancelled)
    await bot.idle()
    with pytest.raises(ApiError):
        await press(emu, "alice", form, "Save", enabled="true")
    assert puts(emu) == []


async def test_status_offers_edit_to_admins_only(emu: Emulator, bot: RunningBot) -> None:
    status = await say(emu, "alice", "direct_alice", "status")
    form = await press(emu, "alice", status, "Edit")
    assert inputs_of(form)["email"] == "security@acme.example"

    read_only = await say(emu, "rita", "direct_rita", "status")
    assert "Edit" not in {a.get("title") for a in card_of(read_only).get("actions", [])}


async def test_a_refused_press_is_answered_in_the_cards_thread(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)
    sent = await emu.post_message(person="alice", room="group", text="disable", mention_bot=True)
    confirm = await emu.wait_for_message(
        lambda m: m["personId"] == emu.seed.bot_id and m.get("parentId") == sent["id"])

    refused = await press(emu, "uma", confirm, "Turn off notifications")

    assert refused.get("parentId") == sent["id"]
    assert "Only the person who asked" in card_text(refused)


async def test_refused_presses_are_in_the_audit_trail(emu: Emulator, bot: RunningBot) -> None:
    form = await say(emu, "alice", "group", "edit")
    await press(emu, "bob", form, "Save", enabled="true")
    await press(emu, "alice", form, "Save", email="not an email")
    await bot.idle()

    rows = await bot.store.list_audit(emu.seed.org_id)
    assert [(r.person_email, r.action, r.outcome) for r in rows] == [
        ("alice@acme.example", "save", "refused"),
        ("bob@acme.example", "save", "refused"),
    ]
    assert "not usable" in (rows[0].reason or "")
    assert "not allowed" in (rows[1].reason or "")
    assert puts(emu) == []
