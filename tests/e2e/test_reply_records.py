"""A reply's record goes with the event's last write: an event that posted a reply and then had
to wait for Webex (tried again later) still posts that reply only once, in a group space too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.emulator import Emulator, Seed, running_emulator
from tests.e2e.harness import RunningBot, running_bot
from tests.e2e.helpers import bot_messages, card_text

READS = "/telephony/config/locations/*/emergencyCallNotification"


@pytest.fixture
async def large(tmp_path: Path) -> AsyncIterator[tuple[Emulator, RunningBot]]:
    """40 calling locations (a report with a progress line), retries kept short."""
    async with running_emulator(Seed.default().with_locations(40)) as emu, \
            running_bot(emu, tmp_path, WEBEX_MAX_RETRIES=0) as bot:
        yield emu, bot


async def test_a_report_tried_again_after_its_progress_line_posts_that_line_once(
    large: tuple[Emulator, RunningBot],
) -> None:
    emu, _ = large
    emu.faults.latency(READS, 0.2)  # the report takes a while after its progress line
    room = emu.seed.rooms["group"]
    await emu.post_message("alice", "group", f"<@personId:{emu.seed.bot_id}> coverage")
    await emu.wait_for_message(
        lambda m: m["personId"] == emu.seed.bot_id and m["roomId"] == room, timeout=10)
    # The report's POST is refused once: the event is given back and tried again later.
    emu.faults.add(method="POST", path="/messages", status=503, times=1)
    report = await emu.wait_for_message(
        lambda m: m["personId"] == emu.seed.bot_id and bool(m.get("attachments")), timeout=30)

    assert "of 40 locations covered" in card_text(report)
    assert sum(1 for r in emu.calls("POST", "/messages") if r.status == 503) == 1
    texts = [m.get("text", "") for m in bot_messages(emu, room)]
    assert len(texts) == 2, texts
    assert sum(t.startswith(("Checking", "Checked")) for t in texts) == 1
