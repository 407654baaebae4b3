"""The /_emulator control API and the standalone command."""

from __future__ import annotations

import asyncio
import socket
import sys

import aiohttp

import tests.emulator as shared
from bot.emulator import Emulator
from tests.emulator import call

emu_fixture = shared.emu_fixture
http_fixture = shared.http_fixture


async def test_control_api_drives_the_emulator(emu: Emulator, http: aiohttp.ClientSession) -> None:
    control = emu.base_url.removesuffix("/v1") + "/_emulator"
    async with http.get(f"{control}/seed") as response:
        seed = await response.json()
    assert seed["bot"]["token"] == emu.seed.bot_token and seed["baseUrl"] == emu.base_url
    async with http.post(
        f"{control}/messages",
        json={"person": "alice", "room": "group", "text": "status", "mention_bot": True},
    ) as response:
        message = await response.json()
    assert message["text"] == "Kari Bot status"
    async with http.get(
        f"{control}/messages", params={"roomId": emu.seed.rooms["group"]}
    ) as response:
        assert [m["id"] for m in (await response.json())["items"]] == [message["id"]]
    async with http.post(
        f"{control}/faults", json={"method": "GET", "path": "/people/me", "status": 503}
    ) as response:
        assert response.status == 200
    assert (await call(http, emu, "GET", "/people/me", emu.seed.bot_token))[0] == 503
    async with http.get(f"{control}/requests", params={"path": "/people/me"}) as response:
        recorded = (await response.json())["items"]
    assert [r["status"] for r in recorded] == [503]
    answered = recorded[0]["at"]
    async with http.get(f"{control}/requests", params={"since": str(answered + 0.001)}) as later:
        assert (await later.json())["items"] == []  # only what was answered since
    async with http.get(f"{control}/requests", params={"since": str(answered)}) as since:
        assert [r["path"] for r in (await since.json())["items"]] == ["/people/me"]
    async with http.get(f"{control}/requests", params={"since": "yesterday"}) as refused:
        assert refused.status == 400
    async with http.put(f"{control}/setting", json={"emailAddress": "x@acme.example"}) as resp:
        assert (await resp.json())["emailAddress"] == "x@acme.example"
    async with http.post(f"{control}/reset") as response:
        assert response.status == 200
    assert emu.calls() == [] and emu.faults.active == []
    async with http.post(
        f"{control}/press", json={"person": "alice", "messageId": message["id"]}
    ) as response:
        assert response.status == 400


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_module_runs_standalone_and_prints_base_url() -> None:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.emulator",
        "--port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 10)
        assert f"http://127.0.0.1:{port}/v1" in line.decode()
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/_emulator/seed") as response,
        ):
            assert (await response.json())["bot"]["name"] == "Kari Bot"
    finally:
        process.terminate()
        await process.wait()
