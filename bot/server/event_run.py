"""One recorded event, run: its lease claimed or renewed, its handler run, then finished, or
given back to run again (a passing failure, a shutdown), with its replies' records."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.errors import RetryLater
from bot.metrics import Metrics
from bot.models import Envelope
from bot.outbox import Outbox
from bot.settings import Settings
from bot.store import InboxEvent, Store

log = logging.getLogger(__name__)
First = Callable[[], Awaitable[bool]]
Handle = Callable[[Envelope, Outbox], Awaitable[None]]  # runs one event (conversation/events.py)
MAX_ATTEMPTS = 3
RETRY_FIRST, RETRY_MAX = timedelta(seconds=2), timedelta(seconds=60)  # RetryLater's backoff


def backoff(attempt: int) -> timedelta:
    """How long a passing failure waits before attempt `attempt + 1`: doubling, capped."""
    doubled: timedelta = RETRY_FIRST * 2 ** min(max(attempt - 1, 0), 16)
    return min(doubled, RETRY_MAX)


class EventRun:
    """Runs one event at a time for its caller (the runner starts each in a task of its own)."""

    def __init__(self, store: Store, metrics: Metrics, handle: Handle, *, settings: Settings,
                 clock: Callable[[], datetime], owner: str, lease: timedelta) -> None:
        self.owner = owner
        self._store = store
        self._metrics = metrics
        self._handle = handle
        self._settings = settings
        self._clock = clock
        self._lease = lease

    async def __call__(self, key: str, leased: InboxEvent | None, first: First | None) -> None:
        """Run `key` (`leased`: recorded with our lease; `first`: runs before anything else,
        and False stops it there)."""
        if first is not None and not await first():
            return
        store = self._store
        now = self._clock()
        event = leased
        if event is not None and now - event.received_at > self._lease / 2:
            # It waited in the queue: make sure the lease is still ours before running it.
            if not await store.renew_lease(key, self.owner, now, self._lease):
                event = None
        elif event is None:
            event = await store.claim_event(key, self.owner, now, self._lease)
        if event is None:
            return  # finished, or being run by another worker or replica
        window_ends = event.received_at + self._settings.inbox_resume_window
        outbox = Outbox(resumed=event.attempts > 1,
                        last_chance=now + backoff(event.attempts) >= window_ends,
                        since=event.received_at,
                        recorder=functools.partial(store.record_steps, key))
        outbox.enter()  # its replies' records go with its last write (bot/outbox.py)
        try:
            envelope = Envelope.model_validate(event.body)
            if event.attempts > 1:
                steps = await store.get_event_steps(key)
                outbox.sent = {name: str(v.get("message_id")) for name, v in steps.items()}
                log.info("event %s: resumed (attempt %d)", key, event.attempts)
            renew = asyncio.create_task(self._keep_lease(key, asyncio.current_task()))
            try:
                await self._handle(envelope, outbox)
                await outbox.settle()
            finally:
                renew.cancel()
        except RetryLater as later:
            outbox.abandon()
            retry_at = now + backoff(event.attempts)
            log.warning("event %s: %s; trying again at %s (attempt %d)", key, later,
                        retry_at.strftime("%H:%M:%S"), event.attempts)
            await self._give_back(key, outbox, retry_at=retry_at)
            return
        except asyncio.CancelledError:
            outbox.abandon()
            await asyncio.shield(self._give_back(key, outbox))
            raise
        except Exception as error:
            outbox.abandon()
            # A bug or an outage of our own (the database): try again later, a few times, so
            # that nothing is lost to a passing fault; then give up and say so in the log.
            if event.attempts < MAX_ATTEMPTS:
                # One line, no traceback: during a database outage every event says this
                # (the traceback is logged when it gives up, below).
                log.warning("event %s failed (attempt %d, %s); it will be retried", key,
                            event.attempts, type(error).__name__)
                await self._give_back(key, outbox)
                return
            log.exception("event %s failed %d times; giving up", key, event.attempts)
            await self._finish(event, "failed", "unexpected error", outbox)
            return
        await self._finish(event, "done", None, outbox)

    async def _give_back(self, key: str, outbox: Outbox, *,
                         retry_at: datetime | None = None) -> None:
        """Release the event to run again (at `retry_at`), with its replies' records."""
        steps, cards = await outbox.take_last()
        with contextlib.suppress(Exception):
            await self._store.release_event(key, self.owner, retry_at=retry_at, steps=steps,
                                            cards=cards)

    async def _finish(self, event: InboxEvent, state: str, detail: str | None,
                      outbox: Outbox) -> None:
        self._metrics.event(f"{event.resource}/{event.event}", state)
        steps, cards = await outbox.take_last()  # the replies' records, in the same transaction
        try:
            await self._store.finish_event(event.key, self.owner, state=state,
                                           now=self._clock(), detail=detail, steps=steps,
                                           cards=cards)
        except Exception as error:
            # The work is done; the event runs again after its lease, and its steps and audit
            # row make that a no-op.
            log.warning("event %s: could not mark it %s (%s)", event.key, state,
                        type(error).__name__)
            with contextlib.suppress(Exception):  # its replies' records, at least
                await self._store.record_steps(event.key, steps, cards)

    async def _keep_lease(self, key: str, run: asyncio.Task[Any] | None) -> None:
        """Renew the lease while the event runs; if it was lost, stop running the event."""
        period = max(self._lease.total_seconds() / 3, 0.2)
        while True:
            await asyncio.sleep(period)
            try:
                held = await self._store.renew_lease(
                    key, self.owner, self._clock(), self._lease)
            except Exception as error:
                log.warning("event %s: lease renewal failed (%s); trying again", key,
                            type(error).__name__)
                continue
            if not held:
                # Another process took the event over after our lease ran out: running on
                # would answer twice. Writes in progress still complete (they are shielded).
                log.error("event %s: lease lost to another process; stopping here", key)
                if run is not None:
                    run.cancel()
                return
