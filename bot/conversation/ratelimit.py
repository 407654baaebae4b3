"""The per-person limit on commands and card presses, kept in the database so that every
replica counts against the same bucket: shaped for people (a burst, then a steady rate well
above typing speed) and against floods that would spend the organization's Webex API quota."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.store import Store
from bot.store.rates import RateDecision, Repeat

# A refused card press by one person on one card is audited and answered once per window.
REPEAT_WINDOW = timedelta(minutes=1)


class RateLimiter:
    def __init__(self, store: Store, *, burst: int, per_minute: int,
                 clock: Callable[[], datetime]) -> None:
        self.burst = burst
        self.per_minute = per_minute
        self._store = store
        self._clock = clock

    async def take(self, person_id: str) -> RateDecision:
        """One command or press by `person_id`: taken, or refused (and whether to tell them)."""
        return await self._store.take_rate_token(
            f"person:{person_id}", self._clock(), burst=self.burst, per_minute=self.per_minute)

    async def repeat(self, key: str) -> Repeat:
        """Count one more of the same refusal (`key`) in its window."""
        return await self._store.count_repeat(key, self._clock(), REPEAT_WINDOW)

    async def remember(self, key: str, audit_id: int) -> None:
        """The audit row that stands for the refusals of `key`'s current window, with the
        repeats that arrived while it was being written."""
        count = await self._store.remember_repeat_audit(key, audit_id)
        if count > 1:
            await self._store.count_audit_repeats(audit_id, count)
