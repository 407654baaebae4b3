"""SIGTERM in the middle of a burst: `python -m bot serve` as a real process, restarted after."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bot.emulator import Emulator
from tests.e2e.harness import SECRET
from tests.e2e.helpers import puts
from tests.ops.test_webhooks import cli_env

GRACE = 1.0


def logged(log: Path) -> str:
    """What the bot process wrote (for a failing assertion's message)."""
    return log.read_text()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_bot(
    emu: Emulator, tmp_path: Path, port: int, log: Path
) -> asyncio.subprocess.Process:
    env = cli_env(
        emu,
        WEBEX_ADMIN_TOKEN=emu.seed.admin_token,
        DATABASE_URL=f"sqlite:///{tmp_path}/bot.db",
        HOST="127.0.0.1",
        PORT=str(port),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        INBOX_LEASE_SECONDS="1",
        SHUTDOWN_GRACE_SECONDS=str(GRACE),
        LOG_LEVEL="INFO",
        COMMAND_RATE_PER_MINUTE="1000",
        WEBEX_WEBHOOK_SECRET=SECRET,
    )
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", cwd=tmp_path, env=env, stdout=out, stderr=out
        )
    deadline = asyncio.get_running_loop().time() + 20
    async with aiohttp.ClientSession() as http:
        while True:
            assert process.returncode is None, logged(log)
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as reply:
                    if reply.status == 200:
                        return process
            except aiohttp.ClientError:
                pass
            assert asyncio.get_running_loop().time() < deadline, logged(log)
            await asyncio.sleep(0.05)


async def stop_bot(process: asyncio.subprocess.Process, log: Path) -> float:
    started = asyncio.get_running_loop().time()
    process.send_signal(signal.SIGTERM)
    status = await asyncio.wait_for(process.wait(), GRACE + 10)
    assert status == 0, logged(log)
    return asyncio.get_running_loop().time() - started


def replies(emu: Emulator) -> Counter[str]:
    """Bot replies per command message (the bot answers group mentions in their thread)."""
    return Counter(
        m.get("parentId")
        for m in emu.state.messages.values()
        if m["personId"] == emu.seed.bot_id and m.get("parentId")
    )


async def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_sigterm_during_a_burst_loses_nothing_and_doubles_nothing(
    emu: Emulator, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "bot.log"
    first = await start_bot(emu, tmp_path, port, log)
    assert len(emu.calls("POST", "/webhooks")) == 3  # serve set its webhooks up from PUBLIC_URL
    emu.latency = 0.2

    people = ("alice", "uma", "rita", "bob")
    commands: dict[str, str] = {}
    for i in range(20):
        person = people[i % len(people)]
        text = f"set email p{i}@example.com" if person in ("alice", "uma") else "status"
        sent = await emu.post_message(person=person, room="group", text=text, mention_bot=True)
        commands[sent["id"]] = text
    await emu.idle(timeout=10)  # every delivery answered by the bot before the signal
    to_bot = [d for d in emu.deliveries if d.resource == "messages" and d.data_id in commands]
    assert len(to_bot) == 20
    assert all(d.ok for d in to_bot)
    await wait_for(lambda: len(replies(emu)) >= 2, 15, "the first replies")

    took = await stop_bot(first, log)
    assert took < GRACE + 5
    answered_before_restart = len(replies(emu))
    assert answered_before_restart < 20, "the burst ended before the signal: test proves nothing"

    second = await start_bot(emu, tmp_path, port, log)
    await wait_for(lambda: set(replies(emu)) >= set(commands), 30, "every command answered")
    await stop_bot(second, log)

    counts = replies(emu)
    assert {cid: counts[cid] for cid in commands} == dict.fromkeys(commands, 1)
    written = Counter(w.json["emailAddress"] for w in puts(emu))
    assert {e: n for e, n in written.items() if n > 1} == {}  # no change written twice
    # A change cut by the restart after others were made since is not written over theirs;
    # its requester is told so. Every other change is applied exactly once.
    superseded = {m.get("parentId") for m in emu.state.messages.values()
                  if m["personId"] == emu.seed.bot_id
                  and "Not applied" in (m.get("markdown") or "")}
    wanted = {t.split()[-1] for cid, t in commands.items()
              if t.startswith("set email") and cid not in superseded}
    assert set(written) >= wanted
    assert len(emu.calls("POST", "/webhooks")) == 3  # the restart found them up to date
    assert emu.calls("PUT", "/webhooks/*") == []
