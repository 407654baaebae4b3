"""What a public port owes itself: deadlines on a request's headers and body, and a cap on
connections (per peer and in all) that keeps room for Webex.

An idle or half-sent connection costs a file descriptor for as long as it stays open, and
aiohttp keeps one open for an hour. Here every connection must deliver its headers within
a deadline (REQUEST_DEADLINE_SECONDS, 10 s) of its first byte (or of opening), its body within
the deadline again, and may then sit idle for 1.5 deadlines; otherwise it is closed (one sweep
of the deadlines, eight times a deadline, rather than a timer for each: at most 1/8 late). One peer
may hold at most `per_peer` connections (a new one beyond is closed at once). When `total` are
open, a new connection evicts the one that has waited longest without a request being handled,
so a flood of slow connections never locks out a delivery that arrives whole: only a
connection whose request is being answered is safe from eviction. `total` stays below the
process's file descriptor limit, less what the process needs for itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import web

log = logging.getLogger(__name__)
DEADLINE_SECONDS = 10.0  # for the headers, and again for the body (REQUEST_DEADLINE_SECONDS)
IDLE_AFTER = 1.5  # an answered connection may wait this many deadlines for its next request
# One sweep of every connection's deadline this many times a deadline, instead of a timer set
# and cancelled for each request (two of each a request, ~3 % of the receiving process): a
# connection whose time is up is closed at most 1/SWEEPS of a deadline late.
SWEEPS = 8
FD_RESERVE = 256  # the process's own: database, Webex connections, the link, logs
PARSER_LIMITS: dict[str, Any] = {"max_line_size": 8190, "max_field_size": 8190, "max_headers": 64}
GUARD: web.AppKey[Guard] = web.AppKey("connection_guard")


@dataclass(eq=False)
class _Connection:
    peer: str
    transport: asyncio.Transport
    since: float
    handling: bool = False
    idle: bool = False  # answered, waiting for the next request (keep-alive)
    due: float | None = None  # the loop's time by which it must move on; None while handled


@dataclass(eq=False)
class Guard:
    """The connections of one listening socket, and what they may cost."""

    total: int
    per_peer: int  # 0: no per-peer cap (behind a proxy every connection comes from it)
    deadline: float = DEADLINE_SECONDS
    refused: Callable[[str], None] = lambda reason: None  # a metric, by reason
    _open: dict[asyncio.BaseTransport, _Connection] = field(default_factory=dict)
    _by_peer: Counter[str] = field(default_factory=Counter)
    _sweep_at: asyncio.TimerHandle | None = None

    @property
    def open(self) -> int:
        return len(self._open)

    def opened(self, transport: asyncio.Transport) -> bool:
        """A new connection: False (and closed) when its peer holds its share already."""
        peername = transport.get_extra_info("peername")
        peer = str(peername[0]) if isinstance(peername, tuple) else "local"
        if self.per_peer and self._by_peer[peer] >= self.per_peer:
            self.refused("peer")
            transport.abort()
            return False
        if len(self._open) >= self.total and not self._evict():
            self.refused("full")
            transport.abort()
            return False
        now = asyncio.get_running_loop().time()
        conn = _Connection(peer, transport, now)
        self._open[transport] = conn
        self._by_peer[peer] += 1
        self._deadline(conn, now + self.deadline)
        return True

    def closed(self, transport: asyncio.BaseTransport) -> None:
        conn = self._open.pop(transport, None)
        if conn is None:
            return
        self._by_peer[conn.peer] -= 1
        if not self._by_peer[conn.peer]:
            del self._by_peer[conn.peer]

    def data(self, transport: asyncio.BaseTransport) -> None:
        """Bytes arrived: an idle connection has started a request, its headers are due."""
        conn = self._open.get(transport)
        if conn is not None and conn.idle:
            conn.idle = False
            self._deadline(conn, asyncio.get_running_loop().time() + self.deadline)

    def handling(self, transport: asyncio.BaseTransport | None, busy: bool) -> None:
        """A request's headers are in (busy) or its answer is written (not busy)."""
        conn = self._open.get(transport) if transport is not None else None
        if conn is None:
            return
        conn.handling, conn.idle = busy, not busy
        conn.since = now = asyncio.get_running_loop().time()
        if busy:
            conn.due = None
        else:
            self._deadline(conn, now + self.deadline * IDLE_AFTER)

    def _deadline(self, conn: _Connection, due: float) -> None:
        conn.due = due
        if self._sweep_at is None:
            self._sweep_at = asyncio.get_running_loop().call_later(self.deadline / SWEEPS,
                                                                   self._sweep)

    def _sweep(self) -> None:
        """Close the connections whose time is up; again in a while, while any are open."""
        loop = asyncio.get_running_loop()
        # The next sweep first: a failure below must not end every deadline after it (a
        # connection it did not reach keeps its due time for that sweep).
        self._sweep_at = (loop.call_later(self.deadline / SWEEPS, self._sweep)
                          if self._open else None)
        now = loop.time()
        for conn in [c for c in self._open.values()
                     if c.due is not None and c.due <= now and not c.handling]:
            conn.due = None
            conn.transport.abort()
            self.refused("deadline")

    def _evict(self) -> bool:
        waiting = [c for c in self._open.values() if not c.handling]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda c: c.since)
        self.refused("evicted")
        oldest.transport.abort()
        self.closed(oldest.transport)
        return True


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, seen by the guard on its way in and out."""

    def __init__(self, inner: asyncio.Protocol, guard: Guard) -> None:
        self._inner = inner
        self._guard = guard
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are transports without subclassing asyncio's: no isinstance.
        if self._guard.opened(cast(asyncio.Transport, transport)):
            self._transport = transport
            self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._transport is not None:
            self._guard.data(self._transport)
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._transport is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._guard.closed(self._transport)
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class GuardedSite(web.SockSite):
    """aiohttp's SockSite, every connection under `guard`."""

    def __init__(self, runner: web.BaseRunner, sock: object, guard: Guard, **kwargs: object
                 ) -> None:
        super().__init__(runner, sock, **kwargs)  # type: ignore[arg-type]
        self._guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        guard = self._guard
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Guarded(server(), guard), sock=self._sock, backlog=self._backlog)


@web.middleware
async def deadlines(request: web.Request,
                    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                    ) -> web.StreamResponse:
    """The headers are in: the body has the deadline (and the app's size limit), then the
    handler runs; the connection's idle deadline starts once it has answered."""
    guard = request.app.get(GUARD)
    if guard is not None:
        guard.handling(request.transport, True)
    try:
        if (request.content_length or 0) > request.client_max_size:
            response = web.Response(status=413)  # refused before a byte of it is read
            response.force_close()
            return response
        try:
            if request.content.is_eof():
                await request.read()  # all in already (the usual case): no timer to set
            else:
                body_time = guard.deadline if guard is not None else DEADLINE_SECONDS
                async with asyncio.timeout(body_time):
                    await request.read()  # kept for the handler
        except TimeoutError:
            response = web.Response(status=408, text="the body took too long")
            response.force_close()
            return response
        except web.HTTPRequestEntityTooLarge:
            response = web.Response(status=413)
            response.force_close()
            return response
        return await handler(request)
    finally:
        if guard is not None:
            guard.handling(request.transport, False)


def guard_for(max_connections: int, per_peer: int,
              refused: Callable[[str], None] = lambda reason: None,
              deadline: float = DEADLINE_SECONDS) -> Guard:
    """A guard whose total stays under the file descriptor limit (raised to the hard limit
    first: the default soft limit is often 1,024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        with contextlib.suppress(ValueError, OSError):
            wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    total = max(16, min(max_connections, soft - FD_RESERVE))
    if total < max_connections:
        log.info("at most %d connections at once (file descriptor limit %d)", total, soft)
    return Guard(total=total, per_peer=per_peer, deadline=deadline, refused=refused)
