"""Runs recorded events in tasks owned by the app: bounded, leased, drained on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.metrics import Metrics
from bot.receiving.spool import Trouble
from bot.server.event_run import EventRun, First, Handle
from bot.settings import Settings
from bot.store import InboxEvent, Store
from bot.store.owners import new_owner

log = logging.getLogger(__name__)
QUEUE_LIMIT = 10_000
PRUNE_EVERY = timedelta(minutes=10)
SWEEP_SECONDS = 2.0
SWEEP_BATCH = 500


class EventRunner:
    """Takes event keys from the receiver (and from the inbox after a restart) and runs them."""

    def __init__(self, store: Store, metrics: Metrics, handle: Handle, *, settings: Settings,
                 clock: Callable[[], datetime], concurrency: int, lease: timedelta) -> None:
        self.owner = new_owner()
        self._store = store
        self._metrics = metrics
        self._run = EventRun(store, metrics, handle, settings=settings, clock=clock,
                             owner=self.owner, lease=lease)
        self._settings = settings
        self._clock = clock
        self._concurrency = concurrency
        self._lease = lease
        self._queue: asyncio.Queue[tuple[str, InboxEvent | None, First | None]] = asyncio.Queue(
            maxsize=QUEUE_LIMIT)
        self._queued: set[str] = set()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._accepting = True
        self._pruned_at: datetime | None = None
        self._backlog = False  # events wait in the inbox that the queue had no room for
        self._wake = asyncio.Event()  # sweep now: room again, or the receiver deferred some
        self._refused: set[str] = set()  # recorded with our lease, not taken: give it back
        self._sweeping = Trouble("the inbox sweep")  # one warning per outage, not per sweep

    @property
    def busy(self) -> int:
        return len(self._running) + self._queue.qsize()

    @property
    def lease(self) -> timedelta:
        return self._lease

    @property
    def accepting(self) -> bool:
        """False once stopping: an event handed over now stays in the inbox."""
        return self._accepting

    def give_back(self, key: str) -> None:
        """`key` was recorded under our lease and not taken: the next sweep (now) frees the
        lease and claims it, instead of waiting for the lease to run out."""
        self._refused.add(key)
        self._wake.set()

    def submit(self, key: str, leased: InboxEvent | None = None, *,
               first: First | None = None) -> bool:
        """Run `key` now if fewer than `concurrency` events are running, else queue it
        (`leased`: recorded with this runner's lease, so no claim is needed); when the queue
        is full it stays in the inbox for the sweeper. `first` runs in the event's own task
        before anything else (recording it in the inbox: bot/server/serve.py); False stops it there.
        False: not taken (stopping, already here, or the queue is full)."""
        if not self._accepting or key in self._queued or key in self._running:
            return False
        if len(self._running) < self._concurrency and self._queue.empty():
            # Straight into a task: every hop through a queue and a worker task is another
            # turn of a busy event loop before the first Webex call goes out.
            self._start(key, leased, first)
            return True
        try:
            self._queue.put_nowait((key, leased, first))
        except asyncio.QueueFull:
            if not self._backlog:
                log.warning("queue full (%d): events wait in the inbox until there is room",
                            QUEUE_LIMIT)
            self._backlog = True
            if leased is not None:
                self._refused.add(key)  # the sweep frees its lease, then takes it
            return False
        self._queued.add(key)
        self._metrics.queued.set(self._queue.qsize())
        return True

    async def take_over(self) -> None:
        """Before the first sweep: our leases live as long as this process (PostgreSQL), and
        a SQLite database's leases of any other owner are a dead process's (one per file)."""
        await self._store.hold_owner(self.owner)
        if self._store.dialect == "sqlite":
            freed = await self._store.release_other_leases(self.owner)
            if freed:
                log.info("gave back the leases of %d events a stopped process held", freed)

    def wake(self) -> None:
        """Events wait in the inbox that nobody handed here (the receiver deferred them)."""
        self._backlog = True
        self._wake.set()

    async def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="inbox-sweeper")

    async def stop(self, grace: float) -> None:
        """Stop taking events, let in-flight ones finish within `grace`, leave the rest queued."""
        self._accepting = False
        if self._sweeper is not None:
            self._sweeper.cancel()
        in_flight = list(self._running.values())
        if in_flight:
            log.info("shutdown: waiting up to %.0fs for %d events", grace, len(in_flight))
            _, late = await asyncio.wait(in_flight, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._sweeper is not None:
            await asyncio.gather(self._sweeper, return_exceptions=True)
        # Queued events recorded with our lease: give the leases back so that the next start
        # (or another replica) takes them at once instead of after the lease runs out.
        for key in list(self._queued):
            try:
                await self._store.release_event(key, self.owner)
            except Exception:
                log.warning("could not release event %s; it is resumed after its lease", key)
        left = len(self._queued) + len(in_flight)
        log.info("shutdown: %d events left in the inbox for the next start", left)

    async def sweep(self) -> int:
        """Queue events that nobody is running (after a crash or restart); expire old ones."""
        store, settings = self._store, self._settings
        now = self._clock()
        window = settings.inbox_resume_window
        for key in await store.expire_events(now, window):
            log.warning("event %s is older than %s and was never finished: expired", key, window)
        for key in list(self._refused):
            await store.release_event(key, self.owner)
            self._refused.discard(key)
        submitted, after = 0, None
        # Keep claiming while there is room: a backlog drains as fast as the work does.
        while (room := QUEUE_LIMIT - self._queue.qsize()) > 0:
            limit = min(SWEEP_BATCH, room)
            batch = await store.claimable_events(now, window, limit=limit, after=after)
            submitted += sum(self.submit(event.key) for event in batch)
            if len(batch) < limit:
                self._backlog = False
                break
            after = (batch[-1].received_at, batch[-1].key)
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            await store.prune_events(now - timedelta(hours=settings.INBOX_RETENTION_HOURS))
            await store.prune_own_messages(now - timedelta(hours=settings.INBOX_RETENTION_HOURS))
            await store.prune_card_tokens(now - timedelta(days=1))
            await store.prune_sign_in_states(now - timedelta(days=1))  # "expired" for a day
            await store.prune_rates(now - timedelta(hours=1))  # buckets long refilled
            self._pruned_at = now
        return submitted

    async def _sweep_forever(self) -> None:
        """Sweep every SWEEP_SECONDS at most (a dead replica's events are resumed within a few
        seconds), and as soon as a backlog has room (the app swept once before starting)."""
        period = min(max(self._lease.total_seconds() / 2, 0.5), SWEEP_SECONDS)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), period)
            self._wake.clear()
            try:
                resumed = await self.sweep()
            except Exception as error:
                self._sweeping.failed(error, "unfinished events wait")
                continue
            self._sweeping.worked()
            if resumed:
                log.info("resumed %d unfinished events from the inbox", resumed)

    def _start(self, key: str, leased: InboxEvent | None, first: First | None) -> None:
        task = asyncio.create_task(self._run(key, leased, first), name=f"event {key}")
        self._running[key] = task
        task.add_done_callback(functools.partial(self._done, key))
        self._metrics.in_flight.set(len(self._running))

    def _done(self, key: str, _task: object = None) -> None:
        """An event ended: the next queued one takes its place (none once stopping)."""
        self._running.pop(key, None)
        while (self._accepting and len(self._running) < self._concurrency
               and not self._queue.empty()):
            next_key, leased, first = self._queue.get_nowait()
            self._queued.discard(next_key)
            self._start(next_key, leased, first)
        if self._backlog and self._queue.qsize() < QUEUE_LIMIT // 2:
            self._wake.set()  # room again: the sweeper takes more from the inbox now
        self._metrics.queued.set(self._queue.qsize())
        self._metrics.in_flight.set(len(self._running))
