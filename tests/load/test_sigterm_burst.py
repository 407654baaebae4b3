"""SIGTERM in the middle of a burst: after a restart nothing is lost and nothing is doubled."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from benchmarks.client import create_message, envelope
from benchmarks.procs import SECRET, EmulatorProcess, emulator_process, start_bot
from benchmarks.seed import admin_name, space_name
from bot.security import sign

pytestmark = pytest.mark.load
COMMANDS = 400
ENABLES = 60  # each with its own address: applied twice would show as an extra PUT
ADMINS = 40


def replies(emu: EmulatorProcess) -> Counter[str]:
    bot_id = emu.seed["bot"]["id"]
    return Counter(r["json"].get("parentId") for r in emu.calls("POST", "/messages")
                   if r["person_id"] == bot_id and r["status"] == 200 and r["json"])


def not_applied(emu: EmulatorProcess) -> set[str]:
    """Commands answered "Not applied" (superseded while the bot restarted)."""
    bot_id = emu.seed["bot"]["id"]
    return {r["json"].get("parentId") for r in emu.calls("POST", "/messages")
            if r["person_id"] == bot_id and r["status"] == 200 and r["json"]
            and "Not applied" in (r["json"].get("markdown") or "")}


def applied_puts(emu: EmulatorProcess) -> list[dict[str, Any]]:
    return [r["json"] for r in emu.calls("PUT", "/telephony/config/emergencyCallNotification")
            if r["status"] == 204]


async def deliver(url: str, bodies: list[bytes], limit: int = 50) -> list[int]:
    """POST each body signed; 0 where the bot did not answer (it is stopping)."""
    gate = asyncio.Semaphore(limit)

    async def one(http: aiohttp.ClientSession, body: bytes) -> int:
        headers = {"Content-Type": "application/json",
                   "X-Spark-Signature": sign(SECRET.encode(), body)}
        async with gate:
            try:
                async with http.post(url, data=body, headers=headers) as reply:
                    return reply.status
            except (TimeoutError, aiohttp.ClientError):
                return 0

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        return await asyncio.gather(*(one(http, body) for body in bodies))


async def test_sigterm_mid_burst_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    with emulator_process(admins=ADMINS) as emu:
        async with aiohttp.ClientSession() as http:
            sent = []
            for i in range(COMMANDS):
                text = f"enable burst-{i}@acme.example" if i < ENABLES else "status"
                sent.append(await create_message(http, emu.control, admin_name(i % ADMINS),
                                                 space_name(i % ADMINS), text))
        bodies = [envelope(emu.seed, m) for m in sent]
        emu.set_latency(0.05)
        settings = {"SHUTDOWN_GRACE_SECONDS": 0.5, "INBOX_LEASE_SECONDS": 2,
                    "LOG_LEVEL": "WARNING"}
        first = start_bot(emu, tmp_path, **settings)
        burst = asyncio.ensure_future(deliver(first.webhook_url, bodies))
        await asyncio.sleep(0.8)  # acknowledged in part, much of it waiting on Webex
        assert await asyncio.to_thread(first.stop, signal.SIGTERM) == 0
        statuses = await burst
        answered_before = sum(replies(emu).values())
        assert 0 < answered_before < COMMANDS, "the SIGTERM missed the middle of the burst"

        second = start_bot(emu, tmp_path, **settings)
        try:
            # What the first process did not acknowledge, Webex sends again.
            again = [b for b, status in zip(bodies, statuses, strict=True) if status != 200]
            assert set(await deliver(second.webhook_url, again)) <= {200}
            ids = {m["id"] for m in sent}
            for _ in range(300):  # at most a minute
                if ids <= set(replies(emu)):
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)
            counts = replies(emu)
            assert {i for i in ids if counts[i] == 0} == set(), "lost"
            assert {i: counts[i] for i in ids if counts[i] > 1} == {}, "doubled"
            # Each change is written at most once. One cut by the restart after others were made
            # since is not written over theirs: its requester is told it was not applied.
            written = Counter(p["emailAddress"] for p in applied_puts(emu))
            assert {e: n for e, n in written.items() if n > 1} == {}, "a change written twice"
            superseded = not_applied(emu)
            assert len(superseded) <= 5
            assert set(written) >= {f"burst-{i}@acme.example" for i in range(ENABLES)
                                    if sent[i]["id"] not in superseded}
        finally:
            assert second.stop(signal.SIGTERM) == 0
