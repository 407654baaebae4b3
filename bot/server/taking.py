"""What the worker does with the events it is handed (by the receiving process's link, or by
the receiver in this process): into the runner; those not in the inbox yet (journaled or
spooled) into the inbox first, in the event's own task, retried while the inbox refuses (a
burst handed on in one write: all together, before their tasks start).
Counts and the receiver's reports go into the metrics and readiness."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.metrics import Metrics
from bot.receiving.journal_worker import read_intake
from bot.receiving.spool import Trouble
from bot.server.link import event_from_line
from bot.server.ops_listener import Health
from bot.server.runner import EventRunner
from bot.store import InboxEvent, NotNow, Store

log = logging.getLogger(__name__)
RECORD_RETRY_MAX_SECONDS = 30.0
CLOSE_WAIT_SECONDS = 5.0


class Events:
    """The worker's intake: see the module docstring."""

    def __init__(self, runner: EventRunner, store: Store, metrics: Metrics, health: Health, *,
                 window: timedelta, clock: Callable[[], datetime], journal: str | None) -> None:
        self._runner = runner
        self._store = store
        self._metrics = metrics
        self._health = health
        self._window = window
        self._clock = clock
        self._journal = journal  # the receiver's journal or spool file: deferred events
        self._inbox = Trouble("recording events in the inbox", health.recording)
        self._recording: set[asyncio.Task[None]] = set()  # events not taken: into the inbox
        self._retrying: set[asyncio.Task[None]] = set()  # events the inbox refused
        self._deferred_since: datetime | None = None
        self._catching_up: asyncio.Task[None] | None = None

    def take(self, event: InboxEvent, *, journaled: bool) -> None:
        """An acknowledged event: `journaled` when it is not in the inbox yet."""
        if not journaled:
            self._runner.submit(event.key, event)
        elif not self._runner.submit(event.key, event,
                                     first=functools.partial(self._record, event)):
            # Not taken now (the queue is full, or stopping): into the inbox all the same,
            # for the sweeper or the next start.
            self._spawn(self._record_until_done(event, submit=False), self._recording)

    def handle_all(self, messages: list[dict[str, Any]]) -> None:
        """The messages of one read from the receiving process, in order. The events of a
        burst that are only in its journal are recorded in the inbox together, in one
        transaction here, before their tasks start: each in its own task, they were a
        commit each, one after another, ahead of the burst's first Webex calls."""
        burst: list[dict[str, Any]] = []
        rest: list[dict[str, Any]] = []
        for message in messages:
            (burst if "key" in message and message.get("journaled") else rest).append(message)
        if len(burst) < 2 or not self._record_together(burst):
            rest = messages
        for message in rest:
            try:
                self.handle(message)
            except Exception:
                log.exception("a message from the receiving process was not understood")

    def _record_together(self, messages: list[dict[str, Any]]) -> bool:
        """Into the inbox under this runner's lease, at once, and into the runner: False (and
        nothing recorded) when the inbox would make the loop wait, or refused; then each is
        recorded in its own task, with the retries."""
        runner = self._runner
        if not runner.accepting:
            return False
        try:
            events = [event_from_line(message) for message in messages]
            added = self._store.record_events_now(
                [(e.key, e.resource, e.event, e.body, e.received_at) for e in events],
                owner=runner.owner, lease=runner.lease)
        except NotNow:
            return False
        except Exception as error:  # each on its own reports it, if it fails again (Trouble)
            log.debug("a burst of events not recorded together (%s): one by one", error)
            return False
        self._recorded()
        for event, new in zip(events, added, strict=True):
            if not new:
                continue  # the inbox had it: another delivery of it ran or runs
            try:
                taken = runner.submit(event.key, event)
            except Exception:
                log.exception("event %s was recorded but not taken; the sweep takes it",
                              event.key)
                taken = False
            if not taken:
                # An earlier delivery of it waits in the queue and will find it recorded
                # (and stop); or we stop. Either way the sweep frees our lease and runs it.
                runner.give_back(event.key)
        return True

    def handle(self, message: dict[str, Any]) -> None:
        """One message from the receiving process (bot/receiving/worker_link.py WorkerLink)."""
        if "key" in message:
            self.take(event_from_line(message), journaled=bool(message.get("journaled")))
        elif "count" in message:
            kind, outcome = message["count"]
            self._metrics.event(str(kind), str(outcome))
        elif "signature_failed" in message:
            self._metrics.signature_failures.inc()
        elif "deferred" in message:
            self.deferred(datetime.fromisoformat(message["deferred"]))
        elif "recording_failing" in message:
            self._health.recording(bool(message["recording_failing"]))
        elif "connection_refused" in message:
            self._metrics.connections_refused.labels(str(message["connection_refused"])).inc()

    def deferred(self, received_at: datetime) -> None:
        """The receiver recorded events without handing them on (this worker was behind):
        bring them from its journal into the inbox, and sweep."""
        if self._deferred_since is None or received_at < self._deferred_since:
            self._deferred_since = received_at
        if self._catching_up is None or self._catching_up.done():
            self._catching_up = asyncio.create_task(self._catch_up(), name="deferred-events")

    async def _catch_up(self) -> None:
        await asyncio.sleep(0.5)  # let a burst of deferrals gather
        while (since := self._deferred_since) is not None:
            self._deferred_since = None
            try:
                if self._journal is not None:
                    rows = await asyncio.to_thread(read_intake, self._journal, since)
                    await self._store.record_events(rows)
            except Exception as error:
                self._inbox.failed(error, "deferred events wait in the journal")
                self.deferred(since)
                await asyncio.sleep(1.0)
                continue
            self._runner.wake()

    async def _record(self, event: InboxEvent) -> bool:
        """Into the inbox under this runner's lease: True to run it now; False if the inbox
        had it already, or refused it (then it is retried in the background)."""
        try:
            recorded = await self._insert(event)
        except Exception as error:
            self._inbox.failed(error, "events are retried in the background")
            self._spawn(self._record_until_done(event, submit=True), self._retrying)
            return False
        self._recorded()
        return recorded

    def _recorded(self) -> None:
        """The inbox took one: recording works (whoever last reported it failing)."""
        self._inbox.worked()
        if self._health.recording_failing:
            self._health.recording(False)

    async def _insert(self, event: InboxEvent, *, leased: bool = True) -> bool:
        """Leased when this runner runs it next; else free for the sweeper to claim."""
        runner = self._runner
        return await self._store.record_event(
            event.key, event.resource, event.event, event.body, event.received_at,
            owner=runner.owner if leased else None, lease=runner.lease if leased else None)

    async def _record_until_done(self, event: InboxEvent, *, submit: bool) -> None:
        """Webex was answered already and its redeliveries are duplicates to the receiver:
        keep trying (a stop leaves it in the journal, which the next start reads) until the
        event is older than the resume window; then it has expired, as an unfinished event in
        the inbox does, rather than run a command long after it was given."""
        pause = 0.0 if not submit else 0.5
        while True:
            await asyncio.sleep(pause)
            try:
                recorded = await self._insert(event, leased=submit)
            except Exception as error:
                if self._clock() - event.received_at > self._window:
                    log.error("event %s could not be recorded in the inbox for %s: expired, "
                              "not run", event.key, self._window)
                    return
                self._inbox.failed(error, "events are retried in the background")
                pause = min(max(pause * 2, 0.5), RECORD_RETRY_MAX_SECONDS)
                continue
            self._recorded()
            if recorded and submit:
                log.info("event %s recorded in the inbox after all", event.key)
                self._runner.submit(event.key, event)
            return

    @staticmethod
    def _spawn(work: Coroutine[Any, Any, None], into: set[asyncio.Task[None]]) -> None:
        task = asyncio.create_task(work)
        into.add(task)
        task.add_done_callback(into.discard)

    async def close(self, wait: float = CLOSE_WAIT_SECONDS) -> None:
        """At shutdown: stop the retries (the journal keeps those events for the next start)
        and give the recording of events not taken a moment (`wait`) to finish."""
        if self._catching_up is not None:
            self._catching_up.cancel()
        for task in list(self._retrying):
            task.cancel()
        if self._recording:
            await asyncio.wait(list(self._recording), timeout=min(wait, CLOSE_WAIT_SECONDS))
        for task in list(self._recording):
            task.cancel()
        await asyncio.gather(*self._retrying, *self._recording, return_exceptions=True)


EVENTS: web.AppKey[Events] = web.AppKey("events")
