"""What every operation receives and returns, independent of HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.emulator.state import Identity, State


@dataclass
class Call:
    """One API call: who made it, path parameters, query and parsed body."""

    state: State
    identity: Identity | None
    params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    form: dict[str, str] = field(default_factory=dict)
    url: str = ""  # the request's absolute URL, for paging links

    @property
    def who(self) -> Identity:
        """The authenticated caller (routes that need auth always have one)."""
        assert self.identity is not None
        return self.identity


@dataclass(frozen=True)
class Reply:
    """An operation's answer: status and JSON body (None: empty body)."""

    status: int
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
