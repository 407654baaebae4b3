"""The worker's end of the link from the receiving process (receiving/process.py
WorkerLink): one JSON message per line, an accepted event or a count."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.receiving.webhook import MAX_BODY
from bot.server.app import RUNNER, WIRING
from bot.store import InboxEvent

log = logging.getLogger(__name__)
RECORD_RETRY_MAX_SECONDS = 30.0
CLOSE_WAIT_SECONDS = 5.0


class Link:
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


class Events:
    """What the worker does with the receiver's messages: accepted events into the runner
    (journaled ones into the inbox first, in the event's own task), counts into the metrics."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._recording: set[asyncio.Task[None]] = set()  # events not taken: into the inbox
        self._retrying: set[asyncio.Task[None]] = set()  # events the inbox refused

    def handle(self, message: dict[str, Any]) -> None:
        metrics = self._app[WIRING].metrics
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
        runner, store = self._app[RUNNER], self._app[WIRING].store
        return await store.record_event(
            event.key, event.resource, event.event, event.body, event.received_at,
            owner=runner.owner if leased else None, lease=runner.lease if leased else None)

    async def _record_until_done(self, event: InboxEvent, *, submit: bool) -> None:
        """Webex was answered already and its redeliveries are duplicates to the receiver:
        keep trying (a stop leaves it in the journal, which the next start reads) until the
        event is older than the resume window; then it has expired, as an unfinished event in
        the inbox does, rather than run a command long after it was given."""
        wiring = self._app[WIRING]
        window = wiring.settings.inbox_resume_window
        pause = 0.0 if not submit else 0.5
        while True:
            await asyncio.sleep(pause)
            try:
                recorded = await self._insert(event, leased=submit)
            except Exception:
                if wiring.clock() - event.received_at > window:
                    log.error("event %s could not be recorded in the inbox for %s: expired, "
                              "not run", event.key, window)
                    return
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
            await asyncio.wait(list(self._recording), timeout=CLOSE_WAIT_SECONDS)
        for task in list(self._recording):
            task.cancel()
        await asyncio.gather(*self._retrying, *self._recording, return_exceptions=True)


def event_from_line(message: dict[str, Any]) -> InboxEvent:
    """What WorkerLink.accept (bot/receiving/process.py) sent."""
    return InboxEvent.received(message["key"], message["resource"], message["event"],
                               message["body"], datetime.fromisoformat(message["received_at"]))
