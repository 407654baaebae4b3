"""A signed delivery replayed after the resume window is refused: nothing is fetched, nothing
posted (issue 14 item 16)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.emulator import Emulator
from bot.security import sign
from tests.e2e.harness import SECRET, RunningBot
from tests.e2e.helpers import envelope_for


async def post(bot: RunningBot, body: bytes) -> tuple[int, dict[str, str]]:
    headers = {"X-Spark-Signature": sign(SECRET.encode(), body),
               "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http, http.post(bot.webhook_url, data=body,
                                                          headers=headers) as reply:
        return reply.status, await reply.json()


def created_ago(envelope: bytes, age: timedelta) -> bytes:
    payload = json.loads(envelope)
    at = datetime.now(UTC) - age
    payload["data"]["created"] = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps(payload).encode()


@pytest.mark.parametrize(("age", "runs"), [
    (timedelta(minutes=11), False),  # past the 10-minute window: a replay
    (timedelta(days=8), False),  # past the inbox's retention too: it would not be a duplicate
    (timedelta(minutes=9), True),  # a late delivery inside the window still runs
])
async def test_a_delivery_created_before_the_resume_window_is_not_run(
    bot: RunningBot, emu: Emulator, age: timedelta, runs: bool
) -> None:
    sent = await emu.post_message(person="alice", room="direct_alice", text="status")
    await bot.idle()
    await asyncio.sleep(0.2)
    replies_before = [m for m in emu.state.messages.values() if m["personId"] == emu.seed.bot_id]
    reads_before = len(emu.calls("GET", "/messages/*"))
    await bot.store.prune_events(datetime.now(UTC) + timedelta(days=1))  # retention passed

    status, answer = await post(bot, created_ago(envelope_for(emu, sent), age))
    await bot.idle()
    await asyncio.sleep(0.2)

    assert status == 200
    replies = [m for m in emu.state.messages.values() if m["personId"] == emu.seed.bot_id]
    if runs:
        assert answer == {"status": "accepted"}
        assert len(replies) == len(replies_before) + 1
        return
    assert answer == {"status": "stale"}
    assert replies == replies_before  # no second confirmation
    assert len(emu.calls("GET", "/messages/*")) == reads_before
