"""Where a webhook goes when it cannot be recorded where it should (the database is down, the
disk is full): a local file if one can be written, else the worker's memory; never a 503.

Webex documents that it disables a webhook after 100 failed deliveries in 5 minutes, not that
it delivers a refused one again, so a 503 loses the event. A spooled event is acknowledged and
handed to the worker marked "to be recorded": the worker keeps trying the inbox (within the
resume window) and, at start, brings in what the spool file holds. An event kept in memory
only (no file could be written either) is lost if the process dies before the inbox takes it:
that is the one case where an acknowledged event is not on disk, and the log says when it
happens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.receiving.journal import IntakeJournal
from bot.settings import Settings
from bot.store.url import intake_path, is_memory_sqlite

log = logging.getLogger(__name__)


class Trouble:
    """Something that fails for a while: one warning when it starts, one line when it ends
    (not a traceback per event), and `on_change(failing)` for readiness."""

    def __init__(self, what: str, on_change: Callable[[bool], None] = lambda failing: None
                 ) -> None:
        self.what = what
        self.failing = False
        self._on_change = on_change

    def failed(self, error: BaseException, consequence: str) -> None:
        if not self.failing:
            self.failing = True
            log.warning("%s fails (%s: %s); %s until it works again", self.what,
                        type(error).__name__, str(error)[:200], consequence)
            self._on_change(True)

    def worked(self) -> None:
        if self.failing:
            self.failing = False
            log.warning("%s works again", self.what)
            self._on_change(False)


class Spool:
    """The fallback for events `record` refused: the file at `path` (opened when first needed;
    None: there is no other file, keep them in memory)."""

    def __init__(self, path: str | None,
                 on_change: Callable[[bool], None] = lambda failing: None) -> None:
        self.path = path
        self.recording = Trouble("recording webhooks", on_change)
        self._file = Trouble(f"the spool file {path}")
        self._journal: IntakeJournal | None = None

    def keep(self, key: str, resource: str, event: str, body: dict[str, Any],
             received_at: datetime) -> bool:
        """True when the event is on disk now; False: only in memory (the worker's)."""
        if self.path is None:
            return False
        try:
            if self._journal is None:
                self._journal = IntakeJournal(self.path)
            self._journal.record(key, resource, event, body, received_at)
        except Exception as error:
            self._file.failed(error, "events are kept in memory only")
            return False
        self._file.worked()
        return True

    async def keep_own(self, message_id: str, room_id: str, parent_id: str | None,
                       created: datetime) -> None:
        """The ids of one of the bot's own group messages, in the same file (SQLite without a
        receiving process: where a resumed reply looks, bot/server/wiring.py)."""
        if self.path is None:
            return
        if self._journal is None:
            self._journal = IntakeJournal(self.path)
        self._journal.record_own(message_id, room_id, parent_id, created)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def spool_path(settings: Settings) -> str | None:
    """The file events go to when the inbox refuses them, and that a start reads back: the
    receiver's journal beside a SQLite database, SPOOL_PATH on PostgreSQL (None in memory)."""
    if is_memory_sqlite(settings.DATABASE_URL):
        return None
    return intake_path(settings.DATABASE_URL) or settings.SPOOL_PATH
