"""`python -m bot serve`: the app, and by default a receiving process of its own in front of it.

With RECEIVER_PROCESS on (the default) this process is the worker: it checks the tokens, runs
the events and serves /healthz, /readyz and /metrics on a private socket, while a child
process (bot/front.py) owns the public port, records and acknowledges each webhook and passes
it here. An event loop saturated by work (one Python process is bound to one core by its
lock) then never delays an acknowledgement. If either process dies the other follows, so
the platform restarts both; nothing acknowledged is lost, since it is in the inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import gc
import json
import logging
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import StartupError, create_app
from bot.front import FrontSpec
from bot.frontproc import ForkedFront
from bot.keys import RUNNER, SERVICES, SETTINGS
from bot.settings import Settings
from bot.store import InboxEvent
from bot.store.url import intake_path, is_memory_sqlite
from bot.webhook import MAX_BODY

log = logging.getLogger(__name__)
BACKLOG = 1024  # Webex may deliver hundreds at once; 128 would make the rest wait for a SYN retry
BIND_WAIT_SECONDS = 5.0  # a receiver of the previous run may still be closing the port
FRONT_START_SECONDS = 30.0
FRONT_STOP_SECONDS = 5.0  # it only finishes acknowledgements under way: milliseconds each
RECORD_RETRY_MAX_SECONDS = 30.0


async def serve(settings: Settings, front: ForkedFront | None = None) -> int:
    """Serve until SIGTERM; with `front` (bot/frontproc.py) it receives, this process works."""
    # The SDK's worker threads hold the GIL in 5 ms slices by default; shorter slices keep the
    # event loop responsive while they work.
    sys.setswitchinterval(0.0005)
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    try:
        await runner.setup()
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)
        if front is not None:
            front.abandon()
        return 1
    try:
        listener = await bind(settings.HOST, settings.PORT)
    except OSError as error:
        print(f"error: cannot listen on {settings.HOST}:{settings.PORT}: {error.strerror}",
              file=sys.stderr)
        await runner.cleanup()
        if front is not None:
            front.abandon()
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        if front is not None:
            return await _with_front(app, runner, listener, stop, front)
        await web.SockSite(runner, listener).start()
        _started(listener.getsockname())
        await stop.wait()
        return 0
    finally:
        await runner.cleanup()
        listener.close()


async def bind(host: str, port: int) -> socket.socket:
    """The public listening socket; waits a little for a port the last run is releasing."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    deadline = asyncio.get_running_loop().time() + BIND_WAIT_SECONDS
    while True:
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as error:
            sock.close()
            if error.errno != errno.EADDRINUSE or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)
            continue
        sock.listen(BACKLOG)
        sock.setblocking(False)
        return sock


def _started(address: Any, note: str = "") -> None:
    # What start-up built lives as long as the process: keep the cyclic collector from
    # scanning it again and again (its pauses were the tail of webhook acknowledgements).
    gc.freeze()
    host, port = address[:2]
    print(f"listening on http://{host}:{port}{note}", file=sys.stderr, flush=True)


def wants_front(settings: Settings) -> bool:
    # An in-memory database lives in one process only: a receiver could not record in it.
    return settings.RECEIVER_PROCESS and not is_memory_sqlite(settings.DATABASE_URL)


async def _with_front(app: web.Application, runner: web.AppRunner, listener: socket.socket,
                      stop: asyncio.Event, front: ForkedFront) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="ecn-bot-"))
    try:
        http_socket, events_socket = workdir / "http.sock", workdir / "events.sock"
        await web.UnixSite(runner, str(http_socket)).start()
        events = _Events(app)
        link = _Link(events.handle)
        server = await asyncio.get_running_loop().create_unix_server(
            link.protocol, str(events_socket))
        services, event_runner = app[SERVICES], app[RUNNER]
        spec = FrontSpec(listener.fileno(), intake_path(app[SETTINGS].DATABASE_URL) or "",
                         str(events_socket), str(http_socket),
                         services.bot.id, event_runner.owner,
                         event_runner.lease.total_seconds())
        with contextlib.suppress(OSError):  # it is gone already: its exit status says why
            front.start(spec, listener)
        address = listener.getsockname()
        # The receiver has the port now. Keeping a copy here would let the kernel accept
        # connections nobody answers once the receiver stops, and keep a restart from binding.
        listener.close()
        front_exit = asyncio.create_task(front.wait())
        try:
            await asyncio.wait_for(_first(link.connected.wait(), front_exit, stop.wait()),
                                   FRONT_START_SECONDS)
            if front_exit.done():
                print(f"error: the receiving process exited at start ({front_exit.result()})",
                      file=sys.stderr)
                return 1
            if not stop.is_set():
                _started(address, f" (receiving process {front.pid})")
                await _first(stop.wait(), front_exit)
        finally:
            if not front_exit.done():
                front.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(asyncio.shield(front_exit), FRONT_STOP_SECONDS)
                except TimeoutError:
                    front.send_signal(signal.SIGKILL)
                    await front_exit
            if link.connected.is_set():
                # Every event the receiver accepted reaches the runner before it stops.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(link.closed.wait(), FRONT_STOP_SECONDS)
            server.close()
            await events.close()
        if not stop.is_set():
            log.error("the receiving process exited (status %s); stopping", front.returncode)
            return 1
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def _first(*waits: Any) -> None:
    tasks = [w if isinstance(w, asyncio.Future) else asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            if not task.done() and task not in waits:
                task.cancel()


class _Link:
    """The worker's end of the receiver's link: one JSON message per line.

    A protocol rather than a stream reader: each line is handled in the very callback that
    read it, where a reader's coroutine would wait for another turn of the loop, and on a
    busy loop a turn is milliseconds."""

    def __init__(self, handle: Callable[[dict[str, Any]], None]) -> None:
        self._handle = handle
        self.connected = asyncio.Event()
        self.closed = asyncio.Event()

    def protocol(self) -> asyncio.Protocol:
        return _LinkProtocol(self)


class _LinkProtocol(asyncio.Protocol):
    def __init__(self, link: _Link) -> None:
        self._link = link
        self._buffer = bytearray()
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._link.connected.is_set():  # one receiver per worker
            transport.close()
            return
        self._transport = transport
        self._link.connected.set()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        start = 0
        while (end := self._buffer.find(b"\n", start)) >= 0:
            line = bytes(self._buffer[start:end])
            start = end + 1
            try:
                self._link._handle(json.loads(line))
            except Exception:
                log.exception("a message from the receiving process was not understood")
        del self._buffer[:start]
        if len(self._buffer) > 8 * MAX_BODY:
            log.error("the receiving process sent a line longer than %d bytes", 8 * MAX_BODY)
            self._buffer.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._link.closed.set()


class _Events:
    """What the worker does with the receiver's messages: accepted events into the runner
    (journaled ones into the inbox first, in the event's own task), counts into the metrics."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._recording: set[asyncio.Task[None]] = set()  # events not taken: into the inbox
        self._retrying: set[asyncio.Task[None]] = set()  # events the inbox refused

    def handle(self, message: dict[str, Any]) -> None:
        metrics = self._app[SERVICES].metrics
        runner = self._app[RUNNER]
        if "key" in message:
            event = event_from_line(message)
            if not message.get("journaled"):
                runner.submit(event.key, event)
            elif not runner.submit(event.key, event,
                                   first=functools.partial(self._record, event)):
                # Not taken now (the queue is full, or stopping): into the inbox all the same,
                # for the sweeper or the next start.
                self._spawn(self._record_until_done(event, submit=False), self._recording)
        elif "count" in message:
            kind, outcome = message["count"]
            metrics.event(str(kind), str(outcome))
        elif "signature_failed" in message:
            metrics.signature_failures.inc()

    async def _record(self, event: InboxEvent) -> bool:
        """Into the inbox under this runner's lease: True to run it now; False if the inbox
        had it already, or refused it (then it is retried in the background)."""
        try:
            return await self._insert(event)
        except Exception:
            log.warning("event %s could not be recorded in the inbox; trying again", event.key,
                        exc_info=True)
            self._spawn(self._record_until_done(event, submit=True), self._retrying)
            return False

    async def _insert(self, event: InboxEvent, *, leased: bool = True) -> bool:
        """Leased when this runner runs it next; else free for the sweeper to claim."""
        runner, store = self._app[RUNNER], self._app[SERVICES].store
        return await store.record_event(
            event.key, event.resource, event.event, event.body, event.received_at,
            owner=runner.owner if leased else None, lease=runner.lease if leased else None)

    async def _record_until_done(self, event: InboxEvent, *, submit: bool) -> None:
        """Webex was answered already and its redeliveries are duplicates to the receiver:
        keep trying (a stop leaves it in the journal, which the next start reads)."""
        pause = 0.0 if not submit else 0.5
        while True:
            await asyncio.sleep(pause)
            try:
                recorded = await self._insert(event, leased=submit)
            except Exception:
                log.warning("event %s could not be recorded in the inbox; trying again",
                            event.key, exc_info=True)
                pause = min(max(pause * 2, 0.5), RECORD_RETRY_MAX_SECONDS)
                continue
            if recorded and submit:
                log.info("event %s recorded in the inbox after all", event.key)
                self._app[RUNNER].submit(event.key, event)
            return

    @staticmethod
    def _spawn(work: Coroutine[Any, Any, None], into: set[asyncio.Task[None]]) -> None:
        task = asyncio.create_task(work)
        into.add(task)
        task.add_done_callback(into.discard)

    async def close(self) -> None:
        """At shutdown: stop the retries (the journal keeps those events for the next start)
        and give the recording of events not taken a moment to finish."""
        for task in list(self._retrying):
            task.cancel()
        if self._recording:
            await asyncio.wait(list(self._recording), timeout=FRONT_STOP_SECONDS)
        for task in list(self._recording):
            task.cancel()
        await asyncio.gather(*self._retrying, *self._recording, return_exceptions=True)


def event_from_line(message: dict[str, Any]) -> InboxEvent:
    """What WorkerLink.accept (bot/front.py) sent."""
    return InboxEvent(message["key"], message["resource"], message["event"], message["body"],
                      datetime.fromisoformat(message["received_at"]), attempts=1,
                      state="pending")
