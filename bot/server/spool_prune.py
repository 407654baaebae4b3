"""Emptying the spool file once its events are in the inbox again.

While the database refuses, webhooks go to a local spool file (bot/receiving/spool.py); the
worker records them in the inbox later and a start reads the file back. This keeps the file
from growing forever: every few seconds it forgets the events the inbox holds, and those older
than the resume window (nothing runs them any more, and a start reads only younger ones). It
deletes only what the inbox has committed, so a crash between the inbox and the file loses
nothing: the next pass, or the next start, finds those rows again, and the inbox skips keys it
has. Not the receiving process's own journal on SQLite: that one prunes itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.receiving.journal_worker import forget_spooled, spooled_keys
from bot.receiving.spool import Trouble, spool_path
from bot.settings import Settings
from bot.store import Store
from bot.store.url import intake_path

log = logging.getLogger(__name__)
PRUNE_SECONDS = 5.0
CHECK_BATCH = 500  # keys asked of the inbox at a time


async def prune_spool(path: str, store: Store, clock: Callable[[], datetime],
                      window: timedelta) -> int:
    """One pass; how many events were forgotten. (The ids of the bot's own group messages kept
    in the same file go once they are older than the resume window: bot/receiving/spool.py.)"""
    too_old = clock() - window
    rows, old_own = await asyncio.to_thread(spooled_keys, path, too_old)
    gone = [key for key, at in rows if at < too_old]
    young = [key for key, at in rows if at >= too_old]
    for start in range(0, len(young), CHECK_BATCH):
        batch = young[start:start + CHECK_BATCH]
        recorded = await store.recorded_keys(batch)
        gone += [key for key in batch if key in recorded]
    if not gone and not old_own:
        return 0
    return await asyncio.to_thread(forget_spooled, path, gone, too_old)


def pruned_spool(settings: Settings) -> str | None:
    """The spool file the worker prunes: SPOOL_PATH on PostgreSQL, `<database>-intake` on
    SQLite without a receiving process (with one, that file is its journal, pruned by it)."""
    path = spool_path(settings)
    if path is None or (settings.RECEIVER_PROCESS and intake_path(settings.DATABASE_URL)):
        return None
    return path


async def prune_spool_forever(path: str, store: Store, clock: Callable[[], datetime],
                              window: timedelta, every: float = PRUNE_SECONDS) -> None:
    trouble = Trouble(f"pruning the spool file {path}")
    while True:
        await asyncio.sleep(every)
        try:
            forgotten = await prune_spool(path, store, clock, window)
        except Exception as error:
            trouble.failed(error, "its events stay in it")
            continue
        trouble.worked()
        if forgotten:
            log.info("spool file %s: %d events forgotten (in the inbox now, or past the resume "
                     "window)", path, forgotten)
