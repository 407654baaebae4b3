"""Who wants to know when the emulator's world may have changed: a wake-up after every write."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from aiohttp import web

from bot.emulator.state import Event

READS = frozenset({"GET", "HEAD", "OPTIONS"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Changes:
    """Wakes every subscriber after a write request (/v1 or control API) or a state event.

    A wake-up says only "look again": subscribers read the state themselves, so a burst of
    writes costs one look, and nothing is missed between two looks.
    """

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Event] = set()

    def notify(self) -> None:
        """Wake every subscriber."""
        for flag in self._subscribers:
            flag.set()

    def on_event(self, event: Event) -> None:
        """A state listener: a message, card action or membership was created."""
        self.notify()

    @contextmanager
    def subscribe(self) -> Iterator[asyncio.Event]:
        """A flag set after each change; clear it before looking at the state."""
        flag = asyncio.Event()
        self._subscribers.add(flag)
        try:
            yield flag
        finally:
            self._subscribers.discard(flag)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Notify after every request that may have written (answered or refused)."""
        try:
            return await handler(request)
        finally:
            if request.method not in READS:
                self.notify()
