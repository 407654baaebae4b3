"""The receiving process of `serve` (bot/server/serve.py, bot/server/fork.py): it owns the public
port, records and acknowledges webhooks, and hands each accepted event to the worker process
over a local socket.

It does nothing else, so the acknowledgement never waits for the work: the worker's event loop
and threads may be saturated by hundreds of events in flight while this process, mostly idle,
answers Webex within milliseconds. /healthz, /readyz and /metrics are the worker's, passed
through.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from bot.clock import utcnow
from bot.models import CALLBACK_PATH, PEER_HEADER
from bot.receiving.body import as_json
from bot.receiving.guard import GUARD, PARSER_LIMITS, Guard, GuardedSite, guard_for
from bot.receiving.intake import INTAKE, Intake, Record, RememberOwn, with_deadline
from bot.receiving.journal import Grouped, IntakeJournal, Received
from bot.receiving.spool import Spool, spool_path
from bot.receiving.webhook import public_app
from bot.settings import Settings
from bot.store.wal import JOURNAL_SIZE_LIMIT, wal_size

# Only what receiving needs is imported here (no SDK, no SQLAlchemy on SQLite): this process
# should cost tens of megabytes, not a second copy of the bot.

log = logging.getLogger(__name__)
PASSED_THROUGH = ("/healthz",)  # /readyz and /metrics: the worker's own port (OPS_PORT)
KEPT_HEADERS = frozenset({"content-type", "cache-control", "referrer-policy",
                          "x-content-type-options", "x-frame-options"})
LINK_BUFFER_LIMIT = 64 * 1024 * 1024
JOURNAL_CHECKPOINT_SECONDS = 1.0
JOURNAL_PRUNE_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class FrontSpec:
    """What the worker tells the receiver when it starts it (bot/server/fork.py)."""

    listen_fd: int
    journal: str  # the SQLite journal's path; "" on PostgreSQL
    events_socket: str
    http_socket: str
    bot_id: str
    owner: str
    lease_seconds: float


class WorkerLink:
    """One line of JSON per message to the worker: an accepted event, or a count."""

    def __init__(self, writer: asyncio.StreamWriter, *, journaled: bool) -> None:
        self._writer = writer
        self._journaled = journaled  # only in the journal: the worker records it in the inbox
        self._lines: list[bytes] = []

    def _send(self, message: dict[str, Any], body: dict[str, Any] | None = None) -> None:
        # Written once per turn of the loop: each write wakes the worker, and on a virtual
        # machine a wake-up costs more than the line (a burst's 20 events are one write).
        if not self._lines:
            asyncio.get_running_loop().call_soon(self.flush)
        line = json.dumps(message, separators=(",", ":"))
        if body is not None:  # the webhook's own text, not encoded again
            line = f'{line[:-1]},"body":{as_json(body)}}}'
        self._lines.append(line.encode() + b"\n")

    def flush(self) -> None:
        """Write the lines so far now, not at the end of the turn (then there are none)."""
        lines, self._lines = self._lines, []
        if not lines:
            return
        if self._writer.is_closing():
            # The worker is gone (and this process follows it): the event is in the journal
            # (SQLite), which the next start reads, or in the inbox under a lease that runs
            # out (PostgreSQL), which the next sweep takes.
            return
        self._writer.write(b"".join(lines))

    def accept(self, key: str, resource: str, event: str, body: dict[str, Any],
               received_at: datetime, *, spooled: bool) -> None:
        if self.backed_up and not spooled:
            # The worker is far behind: it takes this one from where it was recorded (the
            # journal, or the inbox under its lease) when it catches up. A line says so.
            self._send({"deferred": received_at.isoformat()})
            return
        self._send({"key": key, "resource": resource, "event": event,
                    "received_at": received_at.isoformat(),
                    "journaled": self._journaled or spooled}, body)

    def recording(self, failing: bool) -> None:
        self._send({"recording_failing": failing})

    def refused(self, reason: str) -> None:
        self._send({"connection_refused": reason})

    def count(self, kind: str, outcome: str) -> None:
        self._send({"count": [kind, outcome]})

    def signature_failed(self) -> None:
        self._send({"signature_failed": 1})

    @property
    def backed_up(self) -> bool:
        """The worker has not read this much yet: hand on no more events until it catches up."""
        return self._writer.transport.get_write_buffer_size() > LINK_BUFFER_LIMIT

    async def close(self) -> None:
        if self._lines:
            self.flush()  # the last acknowledged events' lines, before the link closes
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


def create_front_app(settings: Settings, spec: FrontSpec, record: Record, link: WorkerLink,
                     spool: Spool, guard: Guard, remember_own: RememberOwn | None = None
                     ) -> web.Application:
    app = public_app()
    app[GUARD] = guard
    app[INTAKE] = Intake(
        secret=settings.webhook_key, bot_id=spec.bot_id, record=record, clock=utcnow,
        accept=link.accept, count=link.count, signature_failed=link.signature_failed,
        max_age=settings.inbox_resume_window, spool=spool, remember_own=remember_own,
        hands_on=isinstance(record, Grouped),
    )
    for path in PASSED_THROUGH + ((CALLBACK_PATH,) if settings.signs_in else ()):
        app.router.add_get(path, _pass_through)
    app.cleanup_ctx.append(_worker_http(spec.http_socket))
    return app


_HTTP: web.AppKey[aiohttp.ClientSession] = web.AppKey("worker_http")


def _worker_http(path: str) -> Any:
    async def ctx(app: web.Application) -> Any:
        connector = aiohttp.UnixConnector(path=path)
        async with aiohttp.ClientSession(connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=10)) as session:
            app[_HTTP] = session
            yield

    return ctx


async def _pass_through(request: web.Request) -> web.Response:
    """The worker's own answer (it knows the database, the token and the counters; and, for
    the sign-in callback, who the browser is: PEER_HEADER)."""
    try:
        async with request.app[_HTTP].get(f"http://worker{request.path_qs}",
                                          headers={PEER_HEADER: request.remote or ""}) as reply:
            body = await reply.read()
            headers = {k: v for k, v in reply.headers.items() if k.lower() in KEPT_HEADERS}
            headers.setdefault("Content-Type", "application/octet-stream")
            return web.Response(status=reply.status, body=body, headers=headers)
    except (aiohttp.ClientError, TimeoutError):
        return web.json_response({"status": "worker not answering"}, status=503)


def die_with_parent(parent_pid: int) -> None:
    """If the worker dies (even by SIGKILL), so does this process, freeing the port."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        raise SystemExit(1)  # it died before the line above


@contextlib.asynccontextmanager
async def _recorder(settings: Settings, spec: FrontSpec, link: WorkerLink
                    ) -> AsyncIterator[tuple[Record, RememberOwn]]:
    """On SQLite the receiver's own journal; on PostgreSQL the inbox, under the worker's lease
    (without one while the worker is behind: its sweep takes those). The bot's own group
    messages' ids go to the same place: the journal, or the store."""
    if spec.journal:
        journal = IntakeJournal(spec.journal)
        maintenance = asyncio.create_task(_maintain(journal, settings))

        def hand_on(events: list[Received]) -> None:
            for key, resource, event, body, received_at in events:
                link.count(f"{resource}/{event}", "accepted")
                link.accept(key, resource, event, body, received_at, spooled=False)
            link.flush()  # now: the burst's answers are not written yet

        record = Grouped(journal, hand_on)

        async def remember(message_id: str, room_id: str, parent_id: str | None,
                           created: datetime) -> None:
            journal.record_own(message_id, room_id, parent_id, created)  # the worker reads it

        try:
            yield record, remember
        finally:
            maintenance.cancel()
            journal.close()
        return
    from bot.store import Store

    store = await Store.open(settings.DATABASE_URL, migrate=False, pool_size=4)
    leased = functools.partial(store.record_event, owner=spec.owner,
                               lease=timedelta(seconds=spec.lease_seconds))

    async def into_inbox(key: str, resource: str, event: str, body: dict[str, Any],
                         now: datetime) -> bool:
        if link.backed_up:
            return await store.record_event(key, resource, event, body, now)
        return await leased(key, resource, event, body, now)

    try:
        yield with_deadline(into_inbox), store.record_own_message
    finally:
        await store.close()


async def _maintain(journal: IntakeJournal, settings: Settings) -> None:
    """Checkpoint the journal off the loop: when its WAL passes the size limit, and emptying
    it when nothing was recorded for a moment; forget what the inbox forgets too."""
    retention = timedelta(hours=settings.INBOX_RETENTION_HOURS)
    pruned_at: datetime | None = None  # at the first turn, then every JOURNAL_PRUNE_EVERY
    seen = -1
    while True:
        await asyncio.sleep(JOURNAL_CHECKPOINT_SECONDS)
        prune = pruned_at is None or utcnow() - pruned_at >= JOURNAL_PRUNE_EVERY
        idle, seen = journal.recorded == seen, journal.recorded
        size = wal_size(journal.path)
        if not prune and (size == 0 if idle else size <= JOURNAL_SIZE_LIMIT):
            continue
        try:
            await asyncio.to_thread(journal.checkpoint, utcnow() - retention if prune else None,
                                    idle=idle)
        except Exception:
            log.warning("intake journal checkpoint failed; trying again later", exc_info=True)
            continue
        if prune:
            pruned_at = utcnow()


async def run_front(settings: Settings, spec: FrontSpec) -> int:
    listener = socket.socket(fileno=spec.listen_fd)
    try:
        reader, writer = await asyncio.open_unix_connection(spec.events_socket)
        journaled = bool(spec.journal)
        link = WorkerLink(writer, journaled=journaled)
        async with _recorder(settings, spec, link) as (record, remember_own):
            return await _serve(settings, spec, listener, record, link, reader, remember_own)
    finally:
        listener.close()


async def _serve(settings: Settings, spec: FrontSpec, listener: socket.socket, record: Record,
                 link: WorkerLink, reader: asyncio.StreamReader,
                 remember_own: RememberOwn | None = None) -> int:
    journaled = bool(spec.journal)
    # On SQLite the journal is where events go first: if it fails, the disk does.
    spool = Spool(None if journaled else spool_path(settings), link.recording)
    guard = guard_for(settings.MAX_CONNECTIONS, settings.MAX_CONNECTIONS_PER_PEER, link.refused,
                      settings.REQUEST_DEADLINE_SECONDS)
    app = create_front_app(settings, spec, record, link, spool, guard, remember_own)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, **PARSER_LIMITS)
    await runner.setup()
    await GuardedSite(runner, listener, guard).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    worker_gone = asyncio.create_task(reader.read())  # the worker never writes: EOF
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait([worker_gone, stopping], return_when=asyncio.FIRST_COMPLETED)
    # Stop taking connections, finish the acknowledgements under way, then hand over
    # the last accepted events before closing the link.
    await runner.cleanup()
    spool.close()
    await link.close()
    worker_gone.cancel()
    stopping.cancel()
    return 0 if stop.is_set() else 1
