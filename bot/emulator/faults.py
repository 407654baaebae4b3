"""Fault injection and per-path latency, matched on the path without /v1."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from typing import Any


def path_matches(pattern: str, path: str) -> bool:
    """Match a path by glob (/people/*), exact path or prefix (/telephony)."""
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(path, pattern)
    base = pattern.rstrip("/")
    return path == base or path.startswith(base + "/")


@dataclass
class Fault:
    """One injected failure: which requests, what answer, how many more times (None: forever)."""

    path: str
    method: str | None = None
    status: int | None = None
    retry_after: float | None = None
    times: int | None = 1
    hang: float | None = None
    message: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """Return whether this fault applies to a request."""
        return (self.method is None or self.method.upper() == method.upper()) and path_matches(
            self.path, path
        )

    def to_json(self) -> dict[str, Any]:
        """Return the fault as JSON data."""
        return dict(self.__dict__)


class Faults:
    """The active faults and latencies; thread-safe so a test thread may change them."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._latency: list[tuple[str, float]] = []
        self._lock = threading.Lock()

    def add(
        self,
        *,
        path: str,
        method: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        times: int | None = 1,
        hang: float | None = None,
        message: str | None = None,
    ) -> Fault:
        """Add a fault; status and/or hang say what happens to matching requests."""
        if status is None and hang is None:
            raise ValueError("a fault needs a status, a hang or both")
        fault = Fault(path, method, status, retry_after, times, hang, message)
        with self._lock:
            self._faults.append(fault)
        return fault

    def latency(self, path: str, seconds: float) -> None:
        """Add seconds of delay to every request whose path matches (0 removes it)."""
        with self._lock:
            self._latency = [(p, s) for p, s in self._latency if p != path]
            if seconds > 0:
                self._latency.append((path, seconds))

    def clear(self) -> None:
        """Forget all faults and per-path latencies."""
        with self._lock:
            self._faults.clear()
            self._latency.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """Return the first fault matching a request and use up one of its times."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def delay_for(self, path: str) -> float:
        """Return the extra delay configured for a path."""
        with self._lock:
            return sum(s for p, s in self._latency if path_matches(p, path))

    @property
    def active(self) -> list[Fault]:
        """The faults still armed."""
        with self._lock:
            return list(self._faults)
