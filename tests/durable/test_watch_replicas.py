"""Two replicas on one PostgreSQL database watch one organization: each change is one card."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.emulator import Emulator
from bot.server.app import WIRING
from tests.durable.test_replicas import database  # noqa: F401 - the fixture
from tests.e2e.harness import running_bot
from tests.e2e.test_watch import ON, cards_in, checked, start_watching, watch_cards

pytestmark = pytest.mark.postgres


async def test_two_replicas_post_one_card_per_change_and_take_over_when_one_stops(
    emu: Emulator, tmp_path: Path, database: str  # noqa: F811 - the fixture
) -> None:
    emu.set_setting(**ON)
    settings = {"DATABASE_URL": database, "WATCH_INTERVAL_SECONDS": 2.0}
    async with running_bot(emu, tmp_path / "a", **settings) as a:
        async with running_bot(emu, tmp_path / "b", **settings) as b:
            await start_watching(emu, a)
            emu.control_hub("uma", emergencyCallNotificationEnabled=False)
            await cards_in(emu, "group", 1)
            await checked(b, 3)
            assert len(watch_cards(emu, "group")) == 1
        # b has stopped: a checks alone now.
        emu.control_hub("uma", emergencyCallNotificationEnabled=True)
        await cards_in(emu, "group", 2)
        await checked(a, 2)
    assert len(watch_cards(emu, "group")) == 2


async def test_many_checks_at_once_on_two_replicas_save_each_change_once(
    emu: Emulator, tmp_path: Path, database: str  # noqa: F811 - the fixture
) -> None:
    emu.set_setting(**ON)
    settings = {"DATABASE_URL": database, "WATCH_INTERVAL_SECONDS": 900.0}
    async with running_bot(emu, tmp_path / "a", **settings) as a, \
            running_bot(emu, tmp_path / "b", **settings) as b:  # fmt: skip
        await start_watching(emu, a)
        emu.control_hub("uma", emailAddress="desk@acme.example")
        loops = [a.app[WIRING].watch, b.app[WIRING].watch]
        await asyncio.gather(*(loop.run_once() for loop in loops * 5))
        assert len(watch_cards(emu, "group")) == 1
