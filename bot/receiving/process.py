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
from bot.receiving.guard import GUARD, PARSER_LIMITS, Guard, GuardedSite, guard_for
from bot.receiving.intake import INTAKE, Intake, Record, RememberOwn, with_deadline
from bot.receiving.journal import Grouped, IntakeJournal, Received
from bot.receiving.spool import Spool, spool_path
from bot.receiving.webhook import public_app
from bot.receiving.worker_link import WorkerLink
from bot.settings import Settings
from bot.store.wal import JOURNAL_SIZE_LIMIT, wal_size

# Only what receiving needs is imported here (no SDK, no SQLAlchemy on SQLite): this process
# should cost tens of megabytes, not a second copy of the bot.

log = logging.getLogger(__name__)
PASSED_THROUGH = ("/healthz",)  # /readyz and /metrics: the worker's own port (OPS_PORT)
KEPT_HEADERS = frozenset({"content-type", "cache-control", "referrer-policy",
                          "x-content-type-options", "x-frame-options"})
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
