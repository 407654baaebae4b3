"""A real `serve` killed (SIGKILL) in the middle of a watch check: the change is one card later."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.emulator import Emulator
from tests.e2e.helpers import card_text, say
from tests.e2e.test_watch import ON, watch_cards
from tests.procs import restartable_serve, wait_for

SETTING = "/telephony/config/emergencyCallNotification"


def org_reads(emu: Emulator) -> int:
    return len(emu.calls("GET", SETTING))


async def test_a_check_cut_by_a_crash_is_reported_once_after_the_restart(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(**ON)
    async with restartable_serve(emu, tmp_path, f"sqlite:///{tmp_path / 'bot.db'}") as start:
        bot = await start(WATCH_INTERVAL_SECONDS="2")
        assert "Watching" in card_text(await say(emu, "alice", "group", "watch"))
        reads = org_reads(emu)
        await wait_for(lambda: org_reads(emu) >= reads + 2, 20, "the baseline check")
        emu.faults.latency("/telephony/config/locations", 60.0)  # every check from now hangs
        emu.control_hub("uma", emergencyCallNotificationEnabled=False)
        # Two intervals on, a check is stuck reading locations (the one under way when the
        # latency came, or the next): the crash cuts it.
        await asyncio.sleep(5)
        await bot.kill()
        assert watch_cards(emu, "group") == []
        emu.faults.clear()
        await start(WATCH_INTERVAL_SECONDS="2")
        await wait_for(lambda: watch_cards(emu, "group"), 20, "the alert")
        reads = org_reads(emu)
        await wait_for(lambda: org_reads(emu) >= reads + 2, 20, "two more checks")
        [alert] = watch_cards(emu, "group")
        assert "Alert: emergency call notifications turned off" in card_text(alert)
