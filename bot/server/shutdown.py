"""The one deadline everything after SIGTERM fits in: SHUTDOWN_GRACE_SECONDS from the signal.

A platform kills a process some time after its SIGTERM (Heroku: 30 s), so shutting down must
end before, whatever is slow: the receiving process finishing its acknowledgements, a client
stalled in the middle of a request, events waiting on Webex, closing the database. Each step
gets what is left of the one deadline: the receiving side at most a fifth of the grace (its
acknowledgements take milliseconds), the events in flight what remains but a reserve, and
closing the store and the clients that reserve (a fifth of the grace, at most 3 s). Work that
does not finish in its share is left in the durable inbox for the next start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
SHARE = 0.2  # of the grace: the receiving side's share, and the reserve for closing
RECEIVER_MAX_SECONDS = 5.0
CLOSE_MAX_SECONDS = 3.0


class Deadline:
    """SHUTDOWN_GRACE_SECONDS from `start()` (the signal; or the first question, without one)."""

    def __init__(self, grace: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.grace = grace
        self._clock = clock
        self._at: float | None = None

    def start(self) -> None:
        if self._at is None:
            self._at = self._clock() + self.grace

    def left(self) -> float:
        """Seconds until the deadline."""
        self.start()
        assert self._at is not None
        return max(0.0, self._at - self._clock())

    @property
    def receiver(self) -> float:
        """How long the receiving side may take to finish its acknowledgements."""
        return min(RECEIVER_MAX_SECONDS, self.grace * SHARE)

    @property
    def reserve(self) -> float:
        """What is kept back, after the work, for closing the store and the clients."""
        return min(CLOSE_MAX_SECONDS, self.grace * SHARE)

    def for_work(self) -> float:
        """How long the events in flight may still run."""
        return max(0.0, self.left() - self.reserve)

    async def bounded(self, step: Awaitable[T], what: str) -> T | None:
        """Await `step` until the deadline; past it, give up on it (None) and say so."""
        try:
            return await asyncio.wait_for(step, self.left())
        except TimeoutError:
            log.warning("shutdown: %s did not finish within SHUTDOWN_GRACE_SECONDS (%.1fs)",
                        what, self.grace)
            return None
