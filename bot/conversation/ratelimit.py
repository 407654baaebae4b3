"""The per-person limit on commands and card presses, kept in the database so that every
replica counts against the same bucket: shaped for people (a burst, then a steady rate well
above typing speed) and against floods that would spend the organization's Webex API quota."""

from __future__ import annotations

import time
from collections import OrderedDict
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


class LocalRateLimiter:
    """A token bucket per key in this process's memory (`per_minute` deep, refilled
    continuously; bounded): for limits one process keeps alone, such as the sign-in callback's
    per peer."""

    def __init__(self, per_minute: int, *, max_keys: int = 10_000) -> None:
        self._rate = per_minute / 60.0
        self._capacity = float(per_minute)
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - last) * self._rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return allowed
