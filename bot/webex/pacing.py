"""Per-organization pacing of Webex calls: a cap on calls in flight, and Retry-After windows.

Webex rate-limits per organization and says how long to wait (429, sometimes 423, with
Retry-After). One call being told to wait means every call for that organization should: so a
window, once announced, holds back every call that has not been sent yet, not only the retry
of the call that was refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

log = logging.getLogger(__name__)


class OrgPacer:
    """At most `limit` calls in flight per organization; none inside a Retry-After window."""

    def __init__(self, limit: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError("the cap on calls in flight must be at least 1")
        self.limit = limit
        self._clock = clock
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._until: dict[str, float] = {}

    @asynccontextmanager
    async def slot(self, org_id: str) -> AsyncIterator[None]:
        """Hold one of the organization's slots, entered only outside any wait window."""
        semaphore = self._slots.setdefault(org_id, asyncio.Semaphore(self.limit))
        async with semaphore:
            # A window may be extended while we sleep: look again after each one.
            while (wait := self._until.get(org_id, 0.0) - self._clock()) > 0:  # noqa: ASYNC110 - a deadline that moves, not an event
                await asyncio.sleep(wait)
            yield

    def hold(self, org_id: str, seconds: float) -> None:
        """Webex asked to wait: no call for this organization starts for `seconds`."""
        until = self._clock() + max(seconds, 0.0)
        if until > self._until.get(org_id, 0.0):
            self._until[org_id] = until
            log.info("webex asked to wait %.2fs: holding calls for the organization", seconds)
