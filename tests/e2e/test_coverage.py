"""`coverage` end to end: the real server, the emulator over real sockets, what the space shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.emulator import Emulator, Seed, running_emulator
from tests.e2e.harness import RunningBot, running_bot
from tests.e2e.helpers import card_text, next_bot_message, puts, say

READS = "/telephony/config/locations/*/emergencyCallNotification"


@pytest.fixture
async def large(tmp_path: Path) -> AsyncIterator[tuple[Emulator, RunningBot]]:
    """An organization with 40 calling locations, and the bot wired to it."""
    async with running_emulator(Seed.default().with_locations(40)) as emu, \
            running_bot(emu, tmp_path) as bot:
        yield emu, bot


async def test_coverage_shows_the_gap_by_name_and_writes_nothing(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)
    reply = await say(emu, "alice", "direct_alice", "coverage")
    text = card_text(reply)
    assert "1 of 4 locations covered" in text
    for name in ("Headquarters", "Northgate Urgent Care", "Lakeside Pharmacy"):
        assert name in text
    assert "riverside-desk@acme.example (its own address)" in text
    assert "on without an address" in text and "Warehouse" not in text
    assert emu.places.find("Headquarters")["id"] not in text  # names, never ids
    assert puts(emu) == [] and not emu.calls("PUT")
    # the same facts without a card
    assert "1 of 4 locations covered" in reply["markdown"]
    assert "Lakeside Pharmacy" in reply["markdown"]


@pytest.mark.parametrize(("who", "allowed"), [("rita", True), ("uma", True), ("bob", False)])
async def test_coverage_is_for_full_user_and_read_only_administrators(
    emu: Emulator, bot: RunningBot, who: str, allowed: bool
) -> None:
    text = card_text(await say(emu, who, f"direct_{who}", "locations"))
    assert ("locations covered" in text) is allowed
    assert bool(emu.calls("GET", READS)) is allowed


async def test_a_location_administrator_is_told_who_can_help(
    emu: Emulator, bot: RunningBot
) -> None:
    text = card_text(await say(emu, "lou", "direct_lou", "coverage"))
    assert "Location Administrator" in text and "Full or User Administrator" in text
    assert not emu.calls("GET", READS)


async def test_words_after_coverage_are_not_ignored(emu: Emulator, bot: RunningBot) -> None:
    text = card_text(await say(emu, "alice", "direct_alice", "coverage please"))
    assert "takes nothing after it" in text
    assert not emu.calls("GET", READS)


def _bot_messages(emu: Emulator, room_id: str) -> list[dict[str, Any]]:
    return [m for m in emu.state.messages.values()
            if m["personId"] == emu.seed.bot_id and m["roomId"] == room_id]


async def test_a_long_report_posts_progress_edits_it_then_the_card(
    large: tuple[Emulator, RunningBot],
) -> None:
    emu, _ = large
    emu.latency = 0.02
    room = emu.seed.rooms["direct_alice"]
    await emu.post_message("alice", "direct_alice", "coverage")
    first = await next_bot_message(emu, room, timeout=20)
    assert first["text"].startswith("Checking 40") and not first.get("attachments")
    report = await emu.wait_for_message(
        lambda m: m["personId"] == emu.seed.bot_id and bool(m.get("attachments")), timeout=30)
    assert "0 of 40 locations covered" in card_text(report)
    progress = emu.state.messages[first["id"]]
    assert progress["text"] == "Checked 40 locations: the report follows."
    assert 1 <= emu.state.edits[first["id"]] <= 10
    assert len(_bot_messages(emu, room)) == 2
    edits = emu.calls("PUT", "/messages/*")
    assert all(e.status == 200 for e in edits)


async def test_a_429_in_the_middle_of_a_report_loses_no_location(
    large: tuple[Emulator, RunningBot],
) -> None:
    emu, _ = large
    emu.set_setting(emergencyCallNotificationEnabled=True,
                    allowEmailNotificationAllLocationEnabled=True)
    emu.faults.latency(READS, 0.02)
    emu.faults.add(path=READS, status=429, retry_after=1, times=3)
    room = emu.seed.rooms["direct_alice"]
    await emu.post_message("alice", "direct_alice", "coverage")
    report = await emu.wait_for_message(
        lambda m: m["personId"] == emu.seed.bot_id and bool(m.get("attachments")), timeout=30)
    text = card_text(report)
    assert "40 of 40 locations covered" in text and "could not be read" not in text
    assert sum(1 for r in emu.calls("GET", READS) if r.status == 429) == 3
    assert len({r.path for r in emu.calls("GET", READS) if r.status == 200}) == 40
    assert len(_bot_messages(emu, room)) == 2
