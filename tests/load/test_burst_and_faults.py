"""Load and faults in process: bursts, redelivery storms, Webex failing or slow."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from benchmarks.seed import admin_name, load_seed, space_name
from bot.emulator import Emulator, running_emulator
from bot.security import sign
from bot.server.app import RUNNER
from tests.e2e.harness import SECRET, RunningBot, running_bot
from tests.e2e.helpers import card_text, envelope_for, puts

pytestmark = pytest.mark.load
ADMINS = 40
SETTING = "/telephony/config/emergencyCallNotification"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with running_emulator(load_seed(ADMINS)) as emulator:
        yield emulator


async def post_all(bot: RunningBot, bodies: list[bytes], limit: int = 200
                   ) -> list[tuple[int, float]]:
    """POST every body signed, at most `limit` at once; (status, seconds to the ack) each."""
    gate = asyncio.Semaphore(limit)

    async def one(http: aiohttp.ClientSession, body: bytes) -> tuple[int, float]:
        headers = {"Content-Type": "application/json", "X-Spark-Signature":
                   sign(SECRET.encode(), body)}
        async with gate:
            started = time.perf_counter()
            async with http.post(bot.webhook_url, data=body, headers=headers) as reply:
                await reply.read()
                return reply.status, time.perf_counter() - started

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        return await asyncio.gather(*(one(http, body) for body in bodies))


async def command(emu: Emulator, i: int, text: str) -> dict[str, Any]:
    """Admin `i` mentions the bot with `text` in their own group space (not delivered: the
    tests post the envelope themselves)."""
    return await emu.post_message(person=admin_name(i % ADMINS), room=space_name(i % ADMINS),
                                  text=text, mention_bot=True)


def replies_by_command(emu: Emulator) -> Counter[str]:
    """How many times the bot answered each command message (replies go in its thread)."""
    return Counter(m.get("parentId") for m in emu.state.messages.values()
                   if m["personId"] == emu.seed.bot_id)


async def until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_burst_of_1000_events_is_acknowledged_and_each_answered_once(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, webhooks=False) as bot:
        sent = [await command(emu, i, "help" if i % 4 == 0 else "status") for i in range(1000)]
        results = await post_all(bot, [envelope_for(emu, m) for m in sent])

        assert Counter(status for status, _ in results) == {200: 1000}
        ids = {m["id"] for m in sent}
        await until(lambda: ids <= set(replies_by_command(emu)), 90, "1000 replies")
        await bot.idle()
        counts = replies_by_command(emu)
        assert {counts[i] for i in ids} == {1}
        assert len(emu.calls("GET", "/roles")) <= 1  # role names are cached for everyone


async def test_each_event_delivered_five_times_at_once_is_applied_and_answered_once(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, webhooks=False) as bot:
        sent = [await command(emu, i, f"enable five-{i}@acme.example") for i in range(20)]
        bodies = [envelope_for(emu, m) for m in sent for _ in range(5)]
        results = await post_all(bot, bodies)

        assert {status for status, _ in results} == {200}
        ids = {m["id"] for m in sent}
        await until(lambda: ids <= set(replies_by_command(emu)), 30, "20 replies")
        await bot.idle()
        await asyncio.sleep(0.3)
        assert len(puts(emu)) == 20
        assert sorted(w.json["emailAddress"] for w in puts(emu)) == sorted(
            f"five-{i}@acme.example" for i in range(20))
        counts = replies_by_command(emu)
        assert {counts[i] for i in ids} == {1}


FAULTS = [
    pytest.param({"status": 429, "retry_after": 0.05}, True, id="429-retry-after"),
    pytest.param({"status": 429}, True, id="429-no-retry-after"),
    pytest.param({"status": 503}, True, id="503"),
    pytest.param({"status": 502}, True, id="502"),
    pytest.param({"status": 504}, True, id="504"),
    pytest.param({"hang": 1.0}, False, id="timeout"),
]


@pytest.mark.parametrize(("fault", "tracked"), FAULTS)
async def test_webex_failing_without_end_gets_bounded_retries_and_a_clear_reply(
    emu: Emulator, tmp_path: Path, fault: dict[str, Any], tracked: bool
) -> None:
    retries = 2
    async with running_bot(emu, tmp_path, webhooks=False, WEBEX_MAX_RETRIES=retries,
                           WEBEX_TIMEOUT_SECONDS=0.3, RETRY_AFTER_CAP_SECONDS=0.2) as bot:
        emu.faults.add(path=SETTING, method="GET", times=None, **fault)
        sent = [await command(emu, i, "status") for i in range(10)]  # a storm, 10 at once
        assert {s for s, _ in await post_all(bot, [envelope_for(emu, m) for m in sent])} == {200}
        ids = {m["id"] for m in sent}
        await until(lambda: ids <= set(replies_by_command(emu)), 30, "10 replies")
        await bot.idle()
        await asyncio.sleep((fault.get("hang") or 0) + 0.2)  # hung requests are logged late

        assert len(emu.calls("GET", SETTING)) == len(sent) * (1 + retries)
        replies = [m for m in emu.state.messages.values()
                   if m["personId"] == emu.seed.bot_id and m.get("parentId") in ids]
        assert len(replies) == len(sent)
        for reply in replies:
            text = card_text(reply)
            assert "Webex could not do that" in text
            assert ("Webex tracking ID: EMU_" in text) is tracked
        failed = emu.calls("GET", SETTING)
        assert all(c.status == (fault.get("status") or 504) for c in failed)


async def test_a_429_storm_on_message_reads_is_retried_a_bounded_number_of_times(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, webhooks=False, WEBEX_MAX_RETRIES=3,
                           RETRY_AFTER_CAP_SECONDS=0.1) as bot:
        emu.faults.add(path="/messages/*", method="GET", status=429, retry_after=1,
                       times=None)
        sent = [await command(emu, i, "status") for i in range(20)]
        await post_all(bot, [envelope_for(emu, m) for m in sent])
        await bot.idle(20)

        reads = Counter(c.path for c in emu.calls("GET", "/messages/*"))
        assert len(reads) == 20
        assert set(reads.values()) == {1 + 3}
        assert emu.calls("POST", "/messages") == [] or all(
            c.person_id != emu.seed.bot_id for c in emu.calls("POST", "/messages"))


async def test_a_slow_webex_does_not_slow_the_acknowledgement(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, webhooks=False) as bot:
        sent = [await command(emu, i, "status") for i in range(40)]
        emu.latency = 1.0
        acks = []
        # This process holds the whole test session's heap (and the emulator): a full
        # collection of it took up to 105 ms. `serve` freezes what start-up built; so does this.
        gc.freeze()
        try:
            for message in sent:  # one at a time, while the earlier ones wait on Webex
                [(status, took)] = await post_all(bot, [envelope_for(emu, message)])
                assert status == 200
                acks.append(took)
        finally:
            gc.unfreeze()
        assert bot.app[RUNNER].busy > 0  # the work was still waiting on Webex
        assert max(acks) < 0.1, sorted(acks)[-5:]
        ids = {m["id"] for m in sent}
        await until(lambda: ids <= set(replies_by_command(emu)), 30, "40 slow replies")


async def test_the_bots_own_events_and_unhandled_events_cost_no_webex_call(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, webhooks=False) as bot:
        before = len(emu.calls())  # the bot's startup checks
        own = {"id": "own-message", "roomId": "r", "personId": emu.seed.bot_id,
               "created": "2026-11-27T10:00:00.000Z"}
        bodies = [envelope_for(emu, {**own, "id": f"own-{i}"}) for i in range(500)]
        other = json.loads(bodies[0])
        other["resource"] = "rooms"
        bodies += [json.dumps({**other, "data": {**other["data"], "id": f"room-{i}"}}).encode()
                   for i in range(500)]
        results = await post_all(bot, bodies)
        assert {s for s, _ in results} == {200}
        await asyncio.sleep(0.3)
        assert emu.calls()[before:] == []
