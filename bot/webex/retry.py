"""Bounded retries for Webex calls: Retry-After for 429/423, backoff with jitter for the rest."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.errors import TransientWebexError

log = logging.getLogger(__name__)
T = TypeVar("T")

WAIT_STATUSES = frozenset({423, 429})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    retry_after_cap: float = 30.0

    def delay(self, attempt: int, error: TransientWebexError) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        if error.retry_after is not None:
            return min(max(float(error.retry_after), 0.0), self.retry_after_cap)
        if error.status in WAIT_STATUSES:
            return min(self.base_delay * 2.0**attempt, self.retry_after_cap)
        backoff = min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
        return random.uniform(backoff / 2, backoff)  # full jitter, half floor


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (Webex sends delta-seconds); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[str, int | None], None] | None = None,
) -> T:
    """Run `call`, retrying TransientWebexError at most `policy.max_retries` times."""
    attempt = 0
    while True:
        try:
            return await call()
        except TransientWebexError as error:
            attempt += 1
            if attempt > policy.max_retries:
                raise
            wait = policy.delay(attempt, error)
            log.warning(
                "webex %s answered %s; retry %d/%d in %.2fs (tracking id %s)",
                error.endpoint,
                error.status or "no response",
                attempt,
                policy.max_retries,
                wait,
                error.tracking_id,
            )
            if on_retry is not None:
                on_retry(error.endpoint, error.status)
            await asyncio.sleep(wait)
