"""The time, in UTC: the default clock everywhere (tests pass their own through Services)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
