"""One event's bookkeeping: the replies it already posted, and work that must finish before the
event is done but need not delay its reply."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)


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
    deferred: list[asyncio.Task[Any]] = field(default_factory=list)
    last: list[Coroutine[Any, Any, Any]] = field(default_factory=list)

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
