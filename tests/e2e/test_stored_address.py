"""`enable` alone asks about the stored address it turned notifications on to, if not just set."""

from __future__ import annotations

from bot.emulator import Emulator
from tests.e2e.harness import RunningBot
from tests.e2e.helpers import card_of, card_text, next_bot_message, say, submit_data

QUESTION = "Notifications now go to security@acme.example — is that still right?"


async def test_enable_alone_asks_about_an_address_nobody_just_set(
    emu: Emulator, bot: RunningBot
) -> None:
    reply = await say(emu, "alice", "direct_alice", "enable")

    first = card_of(reply)["body"][0]
    assert first["items"][0]["text"] == QUESTION  # the card's first line
    assert reply["markdown"].splitlines()[0] == f"**{QUESTION}**"
    assert emu.setting()["emergencyCallNotificationEnabled"] is True
    await emu.press_card(person="alice", message_id=reply["id"],
                         inputs=submit_data(reply, "Edit"))
    form = await next_bot_message(emu, reply["roomId"])
    assert "Save" in card_text(form) and "security@acme.example" in card_text(form)


async def test_no_question_when_the_address_was_set_in_the_last_change(
    emu: Emulator, bot: RunningBot
) -> None:
    await say(emu, "alice", "direct_alice", "set email desk@acme.example")
    reply = await say(emu, "alice", "direct_alice", "enable")

    assert "is that still right" not in card_text(reply)
    assert emu.setting()["emailAddress"] == "desk@acme.example"
    assert "Setting changed" in card_text(reply)


async def test_no_question_when_the_address_is_typed(emu: Emulator, bot: RunningBot) -> None:
    reply = await say(emu, "alice", "direct_alice", "enable ops@example.com")

    assert "is that still right" not in card_text(reply)
    assert "Setting changed" in card_text(reply)
