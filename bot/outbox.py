"""One event's bookkeeping: the replies it already posted, and work that must finish before the
event is done but need not delay its reply.

A reply's record (the step that stops a resumed event from posting it again) is written with
the event's end, in one transaction, rather than on its own: one store write a command fewer.
It is written sooner when the event goes on: before its next Webex call (`before_webex_call`),
and FLUSH_AFTER_SECONDS after the reply landed at the latest. So the time in which a kill -9
leaves a posted reply unrecorded stays what it was: a few store writes' worth.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)
FLUSH_AFTER_SECONDS = 0.05
Recorder = Callable[[dict[str, dict[str, Any]], dict[str, str]], Awaitable[None]]
_CURRENT: ContextVar[Outbox | None] = ContextVar("outbox", default=None)


@dataclass
class Outbox:
    """Replies already posted for one event (loaded when an event is resumed after a crash),
    and bookkeeping that must finish before the event is done but need not delay a reply."""

    sent: dict[str, str] = field(default_factory=dict)
    count: int = 0
    resumed: bool = False
    # No retry would start within the resume window: a passing failure is answered now.
    last_chance: bool = False
    since: datetime | None = None  # when the event arrived: no reply of it is older
    # What the person asked for was refused (a change audited as refused, a location not found)
    # though the handler returned: the command or card press counts as refused, not ok.
    refused: bool = False
    deferred: list[asyncio.Task[Any]] = field(default_factory=list)
    last: list[Coroutine[Any, Any, Any]] = field(default_factory=list)
    # Writes steps and card attachments (the runner's, for this event); None: not deferred.
    recorder: Recorder | None = None
    unrecorded: dict[str, dict[str, Any]] = field(default_factory=dict)  # posted, not written
    cards: dict[str, str] = field(default_factory=dict)  # card token → message, not written
    _timer: asyncio.TimerHandle | None = None
    _flushing: set[asyncio.Task[None]] = field(default_factory=set)

    def enter(self) -> None:
        """This task (and those it starts) works for this event: see before_webex_call."""
        _CURRENT.set(self)

    def record_later(self, step: str, message_id: str) -> bool:
        """A reply landed: recorded with the event's end (see the module docstring); False
        when this outbox has no recorder (the caller writes the step itself)."""
        self.sent[step] = message_id
        if self.recorder is None:
            return False
        self.unrecorded[step] = {"message_id": message_id}
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_AFTER_SECONDS,
                                                                self._flush_soon)
        return True

    def attach_later(self, token: str, message_id: str) -> bool:
        """Which message carries a card token, written with the next steps; False when not
        deferred."""
        if self.recorder is None:
            return False
        self.cards[token] = message_id
        return True

    def take(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """What is not written yet, for the event's last write (finished or given back)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        steps, cards = self.unrecorded, self.cards
        self.unrecorded, self.cards = {}, {}
        return steps, cards

    async def take_last(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """`take`, once a flush under way has ended: the event's last write (which may go
        ahead of queued store work) must not leave one behind it, and what a failed flush
        put back is in it."""
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        return self.take()

    async def flush(self) -> None:
        """Write what is not written yet, now (on failure it stays for the last write)."""
        steps, cards = self.take()
        if self.recorder is None or not (steps or cards):
            return
        try:
            await self.recorder(steps, cards)
        except BaseException:
            self.unrecorded = {**steps, **self.unrecorded}
            self.cards = {**cards, **self.cards}
            raise

    def _flush_soon(self) -> None:
        self._timer = None
        if self.unrecorded or self.cards:
            task = asyncio.ensure_future(self.flush())
            self._flushing.add(task)
            task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        self._flushing.discard(task)
        _log_failure(task)

    def defer(self, work: Coroutine[Any, Any, Any]) -> None:
        """Start `work` now; the event is not done until it has finished."""
        self.deferred.append(asyncio.ensure_future(work))

    def finally_(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` once the event has been answered (e.g. remove a used card)."""
        self.last.append(work)

    def abandon(self) -> None:
        """The event failed or was cancelled: drop the final steps, log deferred failures."""
        for work in self.last:
            work.close()
        self.last.clear()
        for task in self.deferred:
            task.add_done_callback(_log_failure)

    async def settle(self) -> None:
        """Wait for the deferred work, then run the final steps; failures are raised here."""
        if self.deferred:
            await asyncio.gather(*self.deferred)
        while self.last:
            await self.last.pop(0)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("deferred bookkeeping failed: %r", task.exception())


def current() -> Outbox | None:
    """The outbox of the event this task works for (Outbox.enter), if any."""
    return _CURRENT.get()


async def before_webex_call() -> None:
    """An event going on to call Webex after a reply: its replies' records are written first
    (a Webex call takes a round trip: no reply stays unrecorded that long)."""
    outbox = _CURRENT.get()
    if outbox is not None and outbox.unrecorded:
        await outbox.flush()
