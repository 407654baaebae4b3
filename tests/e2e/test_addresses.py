"""Notification addresses end to end: what Webex receives is exactly the ASCII address typed."""

from __future__ import annotations

from bot.emulator import Emulator
from tests.e2e.harness import RunningBot
from tests.e2e.helpers import card_text, puts, say


async def test_a_punycode_domain_reaches_webex_as_typed(emu: Emulator, bot: RunningBot) -> None:
    reply = await say(emu, "alice", "direct_alice", "enable ops@xn--exmple-cua.com")

    assert [w.json["emailAddress"] for w in puts(emu)] == ["ops@xn--exmple-cua.com"]
    assert "ops@xn--exmple-cua.com" in card_text(reply)


async def test_a_full_width_address_is_refused_and_nothing_is_written(
    emu: Emulator, bot: RunningBot
) -> None:
    reply = await say(emu, "alice", "direct_alice", "set email ｏｐｓ@example.com")

    assert puts(emu) == []
    assert emu.setting()["emailAddress"] == "security@acme.example"
    assert "Nothing changed" in card_text(reply)
