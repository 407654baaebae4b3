"""The worker's end of the link from the receiving process (bot/receiving/worker_link.py
WorkerLink): one JSON message per line, an accepted event or a count."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.receiving.webhook import MAX_BODY
from bot.store import InboxEvent

log = logging.getLogger(__name__)


class Link:
    """The worker's end of the receiver's link: one JSON message per line, handed on with
    the others of the same read (a burst's events arrive in one write: bot/receiving/journal.py
    Grouped).

    A protocol rather than a stream reader: the lines are handled in the very callback that
    read them, where a reader's coroutine would wait for another turn of the loop, and on a
    busy loop a turn is milliseconds."""

    def __init__(self, handle: Callable[[list[dict[str, Any]]], None]) -> None:
        self._handle = handle
        self.connected = asyncio.Event()
        self.closed = asyncio.Event()

    def protocol(self) -> asyncio.Protocol:
        return _LinkProtocol(self)


class _LinkProtocol(asyncio.Protocol):
    def __init__(self, link: Link) -> None:
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
        messages: list[dict[str, Any]] = []
        while (end := self._buffer.find(b"\n", start)) >= 0:
            line = bytes(self._buffer[start:end])
            start = end + 1
            try:
                message = json.loads(line)
            except Exception:
                message = None
            if isinstance(message, dict):
                messages.append(message)
            else:
                log.error("a message from the receiving process was not understood: %.200r",
                          line)
        del self._buffer[:start]
        if messages:
            try:
                self._link._handle(messages)
            except Exception:  # the link stays up: the events are in the journal
                log.exception("messages from the receiving process were not handled")
        if len(self._buffer) > 8 * MAX_BODY:
            log.error("the receiving process sent a line longer than %d bytes", 8 * MAX_BODY)
            self._buffer.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._link.closed.set()


def event_from_line(message: dict[str, Any]) -> InboxEvent:
    """What WorkerLink.accept (bot/receiving/worker_link.py) sent."""
    return InboxEvent.received(message["key"], message["resource"], message["event"],
                               message["body"], datetime.fromisoformat(message["received_at"]))
