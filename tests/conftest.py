"""Fixtures every layer shares: the Webex emulator on a real socket, and the bot wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.emulator import Emulator, running_emulator
from tests.e2e.harness import RunningBot, running_bot


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with running_emulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: Emulator, tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(emu, tmp_path) as running:
        yield running
