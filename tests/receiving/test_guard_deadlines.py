"""The public port's deadlines, kept by one sweep rather than a timer a request: a connection
that sends nothing, or stays idle after its answer, is closed once its time is up (and at most
an eighth of a deadline later), and one whose request is being handled is never closed."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.receiving.guard import GUARD, IDLE_AFTER, SWEEPS, Guard, GuardedSite, deadlines

DEADLINE = 0.4
LATE = DEADLINE / SWEEPS + 0.15  # the sweep's period, and a loaded machine's slack


@pytest.fixture
async def port() -> AsyncIterator[tuple[int, list[str]]]:
    refused: list[str] = []

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(DEADLINE * 3)  # longer than any deadline: it is being handled
        return web.Response(text="slow")

    async def quick(request: web.Request) -> web.Response:
        return web.Response(text="quick")

    app = web.Application(middlewares=[deadlines])
    app[GUARD] = Guard(total=100, per_peer=0, deadline=DEADLINE, refused=refused.append)
    app.router.add_get("/slow", slow)
    app.router.add_get("/quick", quick)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    await GuardedSite(runner, sock, app[GUARD]).start()
    try:
        yield sock.getsockname()[1], refused
    finally:
        await runner.cleanup()
        sock.close()


async def _closed_after(reader: asyncio.StreamReader, started: float) -> float:
    while await reader.read(65536):
        pass  # an answer, then the close
    return time.monotonic() - started


@pytest.mark.parametrize(("request_line", "allowed", "early"), [
    (b"", DEADLINE, 0.0),  # sends nothing: its headers were due a deadline after it opened
    # Answered, then idle: a deadline and a half from its answer (timed here when it is read,
    # a little after the bot wrote it).
    (b"GET /quick HTTP/1.1\r\nHost: x\r\n\r\n", DEADLINE * IDLE_AFTER, 0.05),
], ids=["sends nothing", "idle after its answer"])
async def test_a_connection_is_closed_when_its_time_is_up_and_not_before(
        port: tuple[int, list[str]], request_line: bytes, allowed: float, early: float) -> None:
    number, refused = port
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", number)
    if request_line:
        writer.write(request_line)
        assert (await reader.readuntil(b"quick")).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
    took = await asyncio.wait_for(_closed_after(reader, started), DEADLINE * 4)
    assert allowed - early <= took <= allowed + LATE
    assert refused == ["deadline"]
    writer.close()


async def test_a_request_being_handled_past_the_deadline_is_answered_not_closed(
        port: tuple[int, list[str]]) -> None:
    number, refused = port
    reader, writer = await asyncio.open_connection("127.0.0.1", number)
    writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = await asyncio.wait_for(reader.readuntil(b"slow"), DEADLINE * 6)
    assert answer.startswith(b"HTTP/1.1 200") and refused == []
    # And a second request on the same connection, before its idle deadline, is answered too.
    writer.write(b"GET /quick HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await reader.readuntil(b"quick")).startswith(b"HTTP/1.1 200")
    writer.close()


async def test_the_sweep_stops_when_no_connection_is_open(port: tuple[int, list[str]]) -> None:
    number, _ = port
    reader, writer = await asyncio.open_connection("127.0.0.1", number)
    await asyncio.wait_for(_closed_after(reader, time.monotonic()), DEADLINE * 4)
    writer.close()
    await asyncio.sleep(DEADLINE / SWEEPS * 2)  # the sweep after the close finds none open
    timers = [h for h in asyncio.get_running_loop()._scheduled  # type: ignore[attr-defined]
              if not h.cancelled() and "_sweep" in repr(h)]
    assert timers == []


async def test_a_failure_while_closing_one_connection_does_not_end_the_deadlines() -> None:
    failures = iter([RuntimeError("the metric broke")])

    def refused(reason: str) -> None:
        if (error := next(failures, None)) is not None:
            raise error

    guard = Guard(total=10, per_peer=0, deadline=0.2, refused=refused)
    aborted: list[int] = []

    class Transport:
        def __init__(self, n: int) -> None:
            self.n = n

        def get_extra_info(self, name: str) -> object:
            return ("127.0.0.1", self.n)

        def abort(self) -> None:
            aborted.append(self.n)
            guard.closed(self)  # type: ignore[arg-type]

    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda loop, context: None)  # the first sweep's error
    try:
        assert guard.opened(Transport(1))  # type: ignore[arg-type]
        await asyncio.sleep(0.2 + 0.2 / SWEEPS * 2)
        assert aborted == [1]  # closed even though counting it failed
        assert guard.opened(Transport(2))  # type: ignore[arg-type]
        await asyncio.sleep(0.2 + 0.2 / SWEEPS * 2)
        assert aborted == [1, 2]  # and the deadlines go on
    finally:
        loop.set_exception_handler(handler)
