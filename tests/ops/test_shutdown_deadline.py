"""Everything `serve` does after SIGTERM fits in SHUTDOWN_GRACE_SECONDS: the platform's SIGKILL
(Heroku's comes 30 s after its SIGTERM) must never land in the middle of shutting down."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.emulator import Emulator
from tests.procs import free_port, start_serve, wait_for

GRACE = 2.0
EXIT_SLACK = 1.5  # the interpreter's own exit, and this busy machine's scheduling


@pytest.mark.parametrize("receiver", ["true", "false"])
async def test_sigterm_with_work_stuck_on_webex_ends_within_the_grace(
    emu: Emulator, tmp_path: Path, receiver: str
) -> None:
    port = free_port()
    bot = await start_serve(
        emu, tmp_path, port=port, PUBLIC_URL=f"http://127.0.0.1:{port}",
        DATABASE_URL=f"sqlite:///{tmp_path}/bot.db",
        SHUTDOWN_GRACE_SECONDS=str(GRACE), RECEIVER_PROCESS=receiver,
    )
    emu.latency = 60.0  # every Webex call the work makes hangs past any grace
    for i in range(5):
        await emu.post_message(person="alice", room="group", text=f"set email p{i}@x.example",
                               mention_bot=True)
    await wait_for(lambda: len(emu.deliveries) >= 5 and all(d.ok for d in emu.deliveries), 10,
                   "the deliveries acknowledged")
    await asyncio.sleep(0.3)  # the work is under way, waiting on Webex

    started = asyncio.get_running_loop().time()
    await bot.stop(timeout=GRACE + 30)
    took = asyncio.get_running_loop().time() - started

    assert took < GRACE + EXIT_SLACK, (took, bot.output())


@pytest.mark.parametrize("receiver", ["true", "false"])
async def test_sigterm_with_a_client_stalled_mid_request_ends_within_the_grace(
    emu: Emulator, tmp_path: Path, receiver: str
) -> None:
    bot = await start_serve(
        emu, tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/bot.db",
        SHUTDOWN_GRACE_SECONDS=str(GRACE), RECEIVER_PROCESS=receiver,
    )
    # A client that sends half a webhook and stalls (a slow network, or someone's scanner).
    _, writer = await asyncio.open_connection("127.0.0.1", bot.port)
    writer.write(b"POST /webhooks/webex HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json"
                 b"\r\nContent-Length: 1000\r\n\r\n{\"id\": ")
    await writer.drain()
    await asyncio.sleep(0.5)  # the server is reading the body
    try:
        started = asyncio.get_running_loop().time()
        await bot.stop(timeout=GRACE + 30)
        took = asyncio.get_running_loop().time() - started
    finally:
        writer.close()

    assert took < GRACE + EXIT_SLACK, (took, bot.output())
