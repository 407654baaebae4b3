"""The per-person limit lets a person work at human speed and stops a flood, on every replica."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from bot.emulator import Emulator
from tests.e2e.harness import running_bot
from tests.e2e.helpers import card_text, puts, say, settle, submit_data

BURST = 30  # the defaults: 30 at once, then 30 a minute


def bot_replies(emu: Emulator, room: str) -> int:
    room_id = emu.seed.rooms[room]
    return sum(1 for m in emu.state.messages.values()
               if m["personId"] == emu.seed.bot_id and m["roomId"] == room_id)


async def test_a_burst_of_thirty_is_answered_and_the_notice_says_when_to_go_on(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, COMMAND_BURST=BURST, COMMAND_RATE_PER_MINUTE=30) as bot:
        for _ in range(BURST):
            await say(emu, "alice", "direct_alice", "whoami")

        told = card_text(await say(emu, "alice", "direct_alice", "whoami"))
        assert "Please slow down" in told
        found = re.search(r"again from \d\d:\d\d:\d\d UTC \(in (\d+) s\)", told)
        assert found, told
        await emu.post_message(person="alice", room="direct_alice", text="whoami")
        await bot.idle()
        await settle(0.3)
        assert bot_replies(emu, "direct_alice") == BURST + 1  # told once, not once each

        await asyncio.sleep(int(found.group(1)) + 0.2)
        assert "What I can do for you" in card_text(await say(emu, "alice", "direct_alice", "help"))


async def test_a_flood_of_refused_presses_is_answered_and_audited_once_then_limited(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)
    async with running_bot(emu, tmp_path, COMMAND_BURST=4, COMMAND_RATE_PER_MINUTE=1) as bot:
        confirm = await say(emu, "alice", "group", "disable")
        turn_off = submit_data(confirm, "Turn off notifications")
        before = len(emu.calls())
        for _ in range(10):  # bob has no role: only alice may confirm her card
            await emu.press_card(person="bob", message_id=confirm["id"], inputs=turn_off)
        await bot.idle()
        await settle(0.3)

        answers = [card_text(m) for m in list(emu.state.messages.values())
                   if m["personId"] == emu.seed.bot_id][1:]
        assert len(answers) == 2, answers
        assert sorted("Please slow down" in a for a in answers) == [False, True]  # any order
        assert any("Only the person who asked" in a for a in answers)
        calls = emu.calls()[before:]
        assert len([c for c in calls if c.method == "GET" and
                    c.path.startswith("/attachment/actions")]) == 4  # within the limit only
        rows = await bot.store.list_audit(emu.seed.org_id)
        assert [(r.person_email, r.action, r.outcome, r.repeats) for r in rows] == [
            ("bob@acme.example", "disable", "refused", 4)]
        assert puts(emu) == []

        await emu.press_card(person="alice", message_id=confirm["id"], inputs=turn_off)
        await emu.wait_for_message(lambda m: "Setting changed" in card_text(m))
        assert emu.setting()["emergencyCallNotificationEnabled"] is False  # still hers to use
