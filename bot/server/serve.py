"""`python -m bot serve`: the app, and by default a receiving process of its own in front of it.

With RECEIVER_PROCESS on (the default) this process is the worker: it checks the tokens, runs
the events, serves /healthz on a private socket and /readyz and /metrics on the ops port
(OPS_HOST:OPS_PORT), while a child process (bot/receiving/process.py) owns the public port,
records and acknowledges each webhook and passes it here. An event loop saturated by work (one
Python process is bound to one core by its lock) then never delays an acknowledgement. If
either process dies the other follows, so the platform restarts both; nothing acknowledged is
lost: it is in the receiver's journal or in the inbox. The worker's end of the link between
them is bot/server/link.py."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import signal
import socket
import sys
from typing import Any

from aiohttp import web

from bot.receiving.guard import GUARD, PARSER_LIMITS, GuardedSite, guard_for
from bot.receiving.process import FrontSpec
from bot.server import workdir as run_directory
from bot.server.app import RUNNER, SETTINGS, SHUTDOWN, WIRING, create_app
from bot.server.fork import ForkedFront
from bot.server.link import Link
from bot.server.ops_listener import start_ops_listener
from bot.server.taking import EVENTS
from bot.server.wiring import StartupError
from bot.settings import Settings
from bot.store.url import intake_path, is_memory_sqlite

log = logging.getLogger(__name__)
BACKLOG = 1024  # Webex may deliver hundreds at once; 128 would make the rest wait for a SYN retry
BIND_WAIT_SECONDS = 5.0  # a receiver of the previous run may still be closing the port
FRONT_START_SECONDS = 30.0


async def serve(settings: Settings, front: ForkedFront | None = None) -> int:
    """Serve until SIGTERM; with `front` (bot/server/fork.py) it receives, this process works."""
    # Threads (the store's, the SDK's for start-up and operators' calls) hold the GIL in 5 ms
    # slices by default; shorter slices keep the event loop responsive while they work.
    sys.setswitchinterval(0.0005)
    app = create_app(settings)
    deadline = app[SHUTDOWN]
    if front is None:  # this process owns the public port: guard it as the receiver does
        app[GUARD] = guard_for(settings.MAX_CONNECTIONS, settings.MAX_CONNECTIONS_PER_PEER,
                               lambda why: app[WIRING].metrics.connections_refused.labels(
                                   why).inc(), settings.REQUEST_DEADLINE_SECONDS)
    # After SIGTERM a request under way (a client stalled mid-body) gets the receiving side's
    # share of the grace, not aiohttp's default minute.
    runner = web.AppRunner(app, handle_signals=False, access_log=None,
                           shutdown_timeout=deadline.receiver, **PARSER_LIMITS)
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
    try:
        ops = await start_ops_listener(app, settings.OPS_HOST, settings.OPS_PORT)
    except OSError as error:
        print(f"error: cannot listen on OPS_HOST:OPS_PORT {settings.OPS_HOST}:"
              f"{settings.OPS_PORT}: {error.strerror}", file=sys.stderr)
        listener.close()
        await runner.cleanup()
        if front is not None:
            front.abandon()
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        deadline.start()  # everything from here on fits in SHUTDOWN_GRACE_SECONDS
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
    try:
        if front is not None:
            return await _with_front(app, runner, listener, stop, front)
        await GuardedSite(runner, listener, app[GUARD]).start()
        _started(listener.getsockname())
        await stop.wait()
        return 0
    finally:
        await ops.cleanup()
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
    loop = asyncio.get_running_loop()
    workdir = run_directory.create()
    try:
        http_socket, events_socket = workdir / "http.sock", workdir / "events.sock"
        await web.UnixSite(runner, str(http_socket)).start()
        events = app[EVENTS]
        link = Link(events.handle_all)
        server = await asyncio.get_running_loop().create_unix_server(
            link.protocol, str(events_socket))
        wiring, event_runner = app[WIRING], app[RUNNER]
        spec = FrontSpec(listener.fileno(), intake_path(app[SETTINGS].DATABASE_URL) or "",
                         str(events_socket), str(http_socket),
                         wiring.bot_id, event_runner.owner,
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
            # The receiver's share of the grace covers its exit and its last events' handover.
            handover_by = loop.time() + app[SHUTDOWN].receiver
            if not front_exit.done():
                front.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(asyncio.shield(front_exit), handover_by - loop.time())
                except TimeoutError:
                    front.send_signal(signal.SIGKILL)  # what it acknowledged is recorded
                    await front_exit
            if link.connected.is_set():
                # Every event the receiver accepted reaches the runner before it stops.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(link.closed.wait(),
                                           max(0.0, handover_by - loop.time()))
            server.close()
            await events.close(max(0.0, handover_by - loop.time()))
        if not stop.is_set():
            log.error("the receiving process exited (status %s); stopping", front.returncode)
            return 1
        return 0
    finally:
        run_directory.remove(workdir)


async def _first(*waits: Any) -> None:
    tasks = [w if isinstance(w, asyncio.Future) else asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            if not task.done() and task not in waits:
                task.cancel()
