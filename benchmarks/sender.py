"""Webhooks to the bot over a minimal HTTP/1.1 keep-alive client, each acknowledgement timed.

aiohttp's client, in the harness's busy event loop, put the harness's own work (its request
building, its connection pool, the other webhooks of a burst) inside each acknowledgement's time.
Here a request's bytes (headers, signature, body) are built before the clock starts, connections
are opened before a round (`Sender.open`), and each connection is a Protocol with one request in
flight: the clock starts just before `transport.write` and stops in `data_received` once the
whole response (status line, headers, Content-Length body) is in. Only responses with a
Content-Length are understood (the bot's aiohttp server always sends one).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

from bot.security import SIGNATURE_HEADER, sign

STALE_AFTER = 5.0  # seconds idle before a connection is replaced: the bot closes at 15 s
TIMEOUT = 60.0  # seconds for an answer before the round fails


class _Connection(asyncio.Protocol):
    """One keep-alive connection to the bot, one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = True
        self.idle_since = time.monotonic()
        self._buffer = bytearray()
        self._head: tuple[int, int] | None = None  # (status, header end + body length)
        self._started = 0.0
        self._reply: asyncio.Future[tuple[int, float]] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses (an isinstance check fails).
        self.transport = cast(asyncio.Transport, transport)

    def send(self, request: bytes) -> tuple[asyncio.Future[tuple[int, float]], float]:
        """Write `request`; returns the future of (status, seconds) and the wall-clock send."""
        assert self.transport is not None and self._reply is None
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[tuple[int, float]] = loop.create_future()
        self._reply, self._head = reply, None
        self._buffer.clear()
        self._timer = loop.call_later(TIMEOUT, self._fail, TimeoutError("no answer"))
        sent_at = time.time()
        self._started = time.perf_counter()
        self.transport.write(request)
        return reply, sent_at

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self._buffer += data
        if self._head is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and value.strip().lower() == "close":
                    self.reusable = False
                elif name == "transfer-encoding":
                    self._fail(ValueError("a response without Content-Length"))
                    return
            self._head = (int(lines[0].split()[1]), end + 4 + length)
        status, total = self._head
        if len(self._buffer) < total:
            return
        reply = self._reply
        self._reply = None
        self._buffer.clear()
        if self._timer is not None:
            self._timer.cancel()
        self.idle_since = time.monotonic()
        if reply is not None and not reply.done():
            reply.set_result((status, now - self._started))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionError("the bot closed the connection"))

    def _fail(self, error: BaseException) -> None:
        self.reusable = False
        reply, self._reply = self._reply, None
        if reply is not None and not reply.done():
            reply.set_exception(error)
        if self.transport is not None and not self.closed:
            self.transport.close()


@dataclass
class Sender:
    """Posts signed bodies to the bot's webhook and times each acknowledgement."""

    url: str
    secret: bytes
    acks: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    opened_while_sending: int = 0  # connections `open` had not made ready (should stay 0)
    _idle: deque[_Connection] = field(default_factory=deque)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._path = parts.path or "/"

    def request(self, body: bytes) -> bytes:
        """The whole HTTP request for `body`, signed: built before anything is timed."""
        head = (f"POST {self._path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                f"{SIGNATURE_HEADER}: {sign(self.secret, body)}\r\n\r\n")
        return head.encode("latin-1") + body

    async def open(self, count: int) -> None:
        """At least `count` fresh connections ready, so that no connect is inside a round."""
        fresh = [c for c in self._idle if self._usable(c)]
        for conn in self._idle:
            if conn not in fresh and conn.transport is not None:
                conn.transport.close()
        self._idle = deque(fresh)
        missing = count - len(self._idle)
        if missing > 0:
            self._idle.extend(await asyncio.gather(*(self._connect() for _ in range(missing))))

    async def close(self) -> None:
        while self._idle:
            conn = self._idle.popleft()
            if conn.transport is not None:
                conn.transport.close()

    async def post(self, body: bytes | None = None, *, request: bytes | None = None,
                   record: bool = True) -> tuple[int, float, float]:
        """Send `body` (or a `request` built by `request()`); returns (status, sent-at wall
        clock, ack seconds)."""
        data = request if request is not None else self.request(body or b"")
        conn = await self._take()
        reply, sent_at = conn.send(data)
        status, took = await reply
        if conn.reusable and not conn.closed:
            self._idle.append(conn)
        elif conn.transport is not None:
            conn.transport.close()
        if record:
            self.acks.append(took)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        return status, sent_at, took

    async def _take(self) -> _Connection:
        while self._idle:
            conn = self._idle.popleft()
            if self._usable(conn):
                return conn
            if conn.transport is not None:
                conn.transport.close()
        self.opened_while_sending += 1
        return await self._connect()

    async def _connect(self) -> _Connection:
        _, conn = await asyncio.get_running_loop().create_connection(
            _Connection, self._host, self._port)
        return conn

    @staticmethod
    def _usable(conn: _Connection) -> bool:
        return (not conn.closed and conn.reusable
                and time.monotonic() - conn.idle_since < STALE_AFTER)
