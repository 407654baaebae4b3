"""Every command refuses words it does not take: it names them, gives its usage, changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.conversation.menu import COMMANDS
from bot.emulator import Emulator
from tests.e2e.harness import RunningBot
from tests.e2e.helpers import card_text, elements, puts, say

# Each command as a person would type it correctly; the tests add words it does not take.
VALID = {
    "help": "help",
    "status": "status",
    "enable": "enable ops@example.com",
    "disable": "disable",
    "set email": "set email ops@example.com",
    "set all-locations": "set all-locations on",
    "edit": "edit",
    "history": "history 3",
    "whoami": "whoami",
    "coverage": "coverage",
    "sign in": "sign in",
    "sign out": "sign out",
    "watch": "watch off",
}


def emu_now() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)  # past any lease


def test_every_command_has_a_case() -> None:
    assert set(VALID) == set(COMMANDS.commands)


@pytest.mark.parametrize("name", sorted(VALID))
async def test_extra_words_are_named_with_the_usage_and_change_nothing(
    emu: Emulator, bot: RunningBot, name: str
) -> None:
    before = emu.setting()
    reply = await say(emu, "alice", "direct_alice", f"{VALID[name]} please [now](https://x.example)")
    await bot.idle()

    text = card_text(reply)
    assert "I did not understand “please [now](https://x.example)”" in text
    shown = [e["text"] for e in elements(reply) if e["type"] == "TextBlock"]
    assert any("please \\[now\\](https://x.example)" in t for t in shown)  # not a link
    assert f"Usage: `{COMMANDS.commands[name].usage}`" in text
    assert puts(emu) == [] and emu.setting() == before
    assert not [e for e in elements(reply) if e["type"] == "Action.Submit"]  # no card to press
    assert len([m for m in emu.state.messages.values()
                if m["personId"] == emu.seed.bot_id]) == 1  # that reply, and nothing else
    audited = await bot.store.list_audit(emu.seed.org_id)
    if COMMANDS.commands[name].changes:
        assert [(r.action, r.outcome) for r in audited] == [(name, "refused")]
    else:
        assert audited == []


async def test_disable_at_a_location_does_not_offer_to_turn_off_the_organization(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)
    reply = await say(emu, "alice", "direct_alice", "disable at Boston Clinic")

    text = card_text(reply)
    assert "Which location?" in text  # a location it looked for, never the organization
    assert "Turn off" not in text
    assert emu.setting()["emergencyCallNotificationEnabled"] is True


@pytest.mark.parametrize(("typed", "title", "reason"), [
    ('enable a@b.example at "Headquarters" please', "Nothing changed",
     "I did not understand “please”. Usage: `enable [email] [at <location>]`"),
    ('status at "Headquarters', "I did not understand that",
     "The quote before “Headquarters” is never closed: put the location's name between two "
     "quotes. Usage: `status [at <location>]`"),
])
async def test_words_after_a_quoted_location_are_named_not_folded_into_it(
    emu: Emulator, bot: RunningBot, typed: str, title: str, reason: str
) -> None:
    reply = await say(emu, "alice", "direct_alice", typed)

    text = card_text(reply)
    assert title in text and reason in text
    assert "No Webex Calling location" not in text
    assert puts(emu) == [] and not emu.calls("PUT", "/telephony/config/locations/*")


@pytest.mark.parametrize(("typed", "reason"), [
    ("set email", "It needs <address>."),
    ("set all-locations maybe", "“maybe” is not on or off."),
    ("history ²", "“²” is not a number from 1 to 20."),
    ("history ٣", "“٣” is not a number from 1 to 20."),
    ("enable ｏｐｓ@example.com", "reads like ops@example.com"),
    ("watch sometimes", "I did not understand “sometimes”: say `watch` to be told of changes "
                        "here, or `watch off` to stop. Usage: `watch [off]`"),
])
async def test_a_value_it_cannot_use_is_refused_with_the_reason(
    emu: Emulator, bot: RunningBot, typed: str, reason: str
) -> None:
    reply = await say(emu, "alice", "direct_alice", typed)
    await bot.idle()

    assert reason in card_text(reply)
    assert puts(emu) == []
    assert not await bot.store.claimable_events(emu_now(), timedelta(hours=1))  # none left to retry


async def test_unknown_text_is_not_echoed_back(emu: Emulator, bot: RunningBot) -> None:
    typed = "[Re-verify your admin access](https://evil.example/sso)"
    reply = await say(emu, "eve", "group", typed)  # another organization's user, shared space

    text = card_text(reply)
    assert "That is not a command I know" in text
    assert "evil.example" not in text and "Re-verify" not in text
