"""asyncio helpers: the event loop the processes run on, and a step a shutdown must not cut."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def complete_despite_cancel(work: Coroutine[Any, Any, T], grace: float) -> T:
    """Await `work`; if the caller is cancelled meanwhile, give it `grace` seconds more.

    For a Webex write and its record: cut between the two, a restart could not tell whether
    the write happened. The cancellation is still raised afterwards.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task}, timeout=grace)
        abandon(task)  # the caller is gone: a restart sees the outcome
        raise


def abandon(task: asyncio.Future[Any]) -> None:
    """A task whose outcome nobody will await: cancel it if it still runs, else take the error
    it ended with, so that asyncio does not report it as never retrieved."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()


def run_loop(main: Coroutine[Any, Any, int]) -> int:
    """asyncio.run, on uvloop where it is installed (it roughly halves the loop's CPU)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
