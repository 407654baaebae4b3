"""A per-person command rate limit that protects the organization's Webex API quota."""

from __future__ import annotations

import time
from collections import OrderedDict


class RateLimiter:
    """A token bucket per person: `per_minute` commands, refilled continuously; bounded memory."""

    def __init__(self, per_minute: int, *, max_people: int = 10_000) -> None:
        self._rate = per_minute / 60.0
        self._capacity = float(per_minute)
        self._max_people = max_people
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._told: OrderedDict[str, float] = OrderedDict()

    def allow(self, person_id: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(person_id, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - last) * self._rate)
        allowed = tokens >= 1.0
        self._buckets[person_id] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self._max_people:
            self._buckets.popitem(last=False)
        return allowed

    def first_refusal(self, person_id: str, now: float | None = None) -> bool:
        """True once a minute per person: whether to tell them they are over the limit."""
        now = time.monotonic() if now is None else now
        last = self._told.pop(person_id, None)
        first = last is None or now - last >= 60.0
        self._told[person_id] = now if first or last is None else last
        while len(self._told) > self._max_people:
            self._told.popitem(last=False)
        return first
