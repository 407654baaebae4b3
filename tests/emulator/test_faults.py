"""Injected faults and latency: what a client sees, and that faulted requests change nothing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

import tests.emulator as shared
from bot.emulator import Emulator, running_emulator
from bot.emulator.faults import path_matches
from tests.emulator import call

emu_fixture = shared.emu_fixture
http_fixture = shared.http_fixture

PATH = "/telephony/config/emergencyCallNotification"
ON = {
    "emergencyCallNotificationEnabled": True,
    "allowEmailNotificationAllLocationEnabled": False,
    "emailAddress": "oncall@acme.example",
}


async def test_429_once_with_retry_after_then_success(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.faults.add(method="PUT", path=PATH, status=429, retry_after=1, times=1)
    status, body, response = await call(http, emu, "PUT", PATH, emu.seed.admin_token, json=ON)
    assert (status, response.headers["Retry-After"]) == (429, "1")
    assert body["trackingId"] == response.headers["TrackingID"]
    assert emu.setting()["emergencyCallNotificationEnabled"] is False
    assert (await call(http, emu, "PUT", PATH, emu.seed.admin_token, json=ON))[0] == 204
    assert [c.status for c in emu.calls(method="PUT", path=PATH)] == [429, 204]
    assert emu.setting() == ON


async def test_503_twice_only_for_the_matching_method(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.faults.add(method="PUT", path=PATH, status=503, times=2)
    assert (await call(http, emu, "GET", PATH, emu.seed.admin_token))[0] == 200
    statuses = [
        (await call(http, emu, "PUT", PATH, emu.seed.admin_token, json=ON))[0] for _ in range(3)
    ]
    assert statuses == [503, 503, 204]


async def test_hang_times_the_client_out_and_changes_nothing(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.faults.add(method="PUT", path=PATH, hang=10.0)
    with pytest.raises(asyncio.TimeoutError):
        await call(
            http,
            emu,
            "PUT",
            PATH,
            emu.seed.admin_token,
            json=ON,
            timeout=aiohttp.ClientTimeout(total=0.2),
        )
    assert emu.setting()["emergencyCallNotificationEnabled"] is False
    assert (await call(http, emu, "PUT", PATH, emu.seed.admin_token, json=ON))[0] == 204


async def test_glob_faults_forever_until_cleared(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.faults.add(path="/people/*", status=500, times=None)
    for _ in range(3):
        assert (await call(http, emu, "GET", "/people/me", emu.seed.bot_token))[0] == 500
    emu.faults.clear()
    assert (await call(http, emu, "GET", "/people/me", emu.seed.bot_token))[0] == 200


async def test_latency_global_and_per_path(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.faults.latency("/people/*", 0.15)
    started = time.perf_counter()
    await call(http, emu, "GET", "/people/me", emu.seed.bot_token)
    assert time.perf_counter() - started >= 0.15
    started = time.perf_counter()
    await call(http, emu, "GET", PATH, emu.seed.admin_token)
    assert time.perf_counter() - started < 0.15
    emu.latency = 0.1
    started = time.perf_counter()
    await call(http, emu, "GET", PATH, emu.seed.admin_token)
    assert time.perf_counter() - started >= 0.1


async def test_no_call_is_answered_before_its_latency(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    # The emulator asks its timers for a little less than the latency (they fire late), then
    # waits out the rest: a benchmark's floor of "L a call" must never be undercut.
    emu.latency = 0.02
    for _ in range(40):
        assert (await call(http, emu, "GET", PATH, emu.seed.admin_token))[0] == 200
    answered = [r.at - r.arrived for r in emu.pipeline.requests]
    assert len(answered) == 40
    assert min(answered) >= 0.02


async def test_leaving_the_context_wakes_hung_requests_quickly() -> None:
    async with aiohttp.ClientSession() as session:
        async with running_emulator() as emu:
            emu.faults.add(path=PATH, hang=30.0)
            pending = asyncio.ensure_future(call(session, emu, "GET", PATH, emu.seed.admin_token))
            await asyncio.sleep(0.05)
            started = time.perf_counter()
        assert time.perf_counter() - started < 3.0
        outcome: Any = (await asyncio.gather(pending, return_exceptions=True))[0]
        assert isinstance(outcome, Exception) or outcome[0] == 504


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/people/*", "/people/abc", True),
        ("/people/*", "/people", False),
        ("/telephony", "/telephony/config/emergencyCallNotification", True),
        (
            "/telephony/config/emergencyCallNotification",
            "/telephony/config/emergencyCallNotification",
            True,
        ),
        ("/messages", "/messagesX", False),
    ],
)
def test_path_patterns(pattern: str, path: str, expected: bool) -> None:
    assert path_matches(pattern, path) is expected
