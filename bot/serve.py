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
import gc
import json
import logging
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable
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
        server = await asyncio.start_unix_server(link.serve, str(events_socket),
                                                 limit=8 * MAX_BODY)
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
    """The worker's end of the receiver's link: one JSON message per line."""

    def __init__(self, handle: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self._handle = handle
        self.connected = asyncio.Event()
        self.closed = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.connected.is_set():  # one receiver per worker
            writer.close()
            return
        self.connected.set()
        try:
            async for line in reader:
                try:
                    await self._handle(json.loads(line))
                except Exception:
                    log.exception("a message from the receiving process was not understood")
        finally:
            writer.close()
            self.closed.set()


class _Events:
    """What the worker does with the receiver's messages: accepted events into the runner
    (journaled ones into the inbox first), counts into the metrics."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._retrying: set[asyncio.Task[None]] = set()

    async def handle(self, message: dict[str, Any]) -> None:
        metrics = self._app[SERVICES].metrics
        if "key" in message:
            event = event_from_line(message)
            if message.get("journaled"):
                # Inline, not in a task of its own: the INSERT runs right here on the loop
                # (bot/store/sqlite_worker.py), and a task would cost another turn of a busy
                # loop before the event starts. The link is read in order either way.
                if not await self._record_then_run(event):
                    task = asyncio.create_task(self._retry(event))
                    self._retrying.add(task)
                    task.add_done_callback(self._retrying.discard)
            else:
                self._app[RUNNER].submit(event.key, event)
        elif "count" in message:
            kind, outcome = message["count"]
            metrics.event(str(kind), str(outcome))
        elif "signature_failed" in message:
            metrics.signature_failures.inc()

    async def _record_then_run(self, event: InboxEvent) -> bool:
        """An event the receiver holds in its journal only: into the inbox under this
        runner's lease, then run. False if the database refused it."""
        runner, store = self._app[RUNNER], self._app[SERVICES].store
        try:
            recorded = await store.record_event(
                event.key, event.resource, event.event, event.body, event.received_at,
                owner=runner.owner, lease=runner.lease)
        except Exception:
            log.warning("event %s could not be recorded in the inbox; trying again", event.key,
                        exc_info=True)
            return False
        if recorded:
            runner.submit(event.key, event)
        return True

    async def _retry(self, event: InboxEvent) -> None:
        """Webex was answered already and its redeliveries are duplicates to the receiver:
        keep trying (a stop leaves it in the journal, which the next start reads)."""
        pause = 0.5
        while True:
            await asyncio.sleep(pause)
            if await self._record_then_run(event):
                log.info("event %s recorded in the inbox after all", event.key)
                return
            pause = min(pause * 2, RECORD_RETRY_MAX_SECONDS)

    async def close(self) -> None:
        for task in list(self._retrying):
            task.cancel()
        await asyncio.gather(*self._retrying, return_exceptions=True)


def event_from_line(message: dict[str, Any]) -> InboxEvent:
    """What WorkerLink.accept (bot/front.py) sent."""
    return InboxEvent(message["key"], message["resource"], message["event"], message["body"],
                      datetime.fromisoformat(message["received_at"]), attempts=1,
                      state="pending")
