"""The receiving process's journal on SQLite: a file only it writes.

SQLite has one writer at a time. With the worker process writing the inbox, audit and card
tokens, a webhook waiting for that lock waited as long as the worker held it, and a saturated
worker holds it across GIL switches: tens of milliseconds. So the receiver records each event
here (a primary key on the event's key makes redeliveries duplicates), acknowledges, and hands
it to the worker, which records it in the inbox. The worker only reads this file, when it
starts: whatever was acknowledged but not yet in the inbox (a crash in between) is recorded
then. On PostgreSQL there is no such lock and the receiver writes the inbox directly.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.receiving.body import as_json
from bot.store.wal import limit_wal, truncate_wal

_SCHEMA = """CREATE TABLE IF NOT EXISTS intake (
    key TEXT PRIMARY KEY, resource TEXT NOT NULL, event TEXT NOT NULL, body TEXT NOT NULL,
    received_at TEXT NOT NULL)"""
RECORD_BUSY_SECONDS = 0.5
_INSERT = "INSERT OR IGNORE INTO intake VALUES (?, ?, ?, ?, ?)"
Received = tuple[str, str, str, dict[str, Any], datetime]  # key, resource, event, body, at
_BY_TIME = "CREATE INDEX IF NOT EXISTS intake_received_at ON intake (received_at)"
# The bot's own group messages Webex told of (ids only): see bot/store/own_messages.py.
_OWN = """CREATE TABLE IF NOT EXISTS own_messages (
    message_id TEXT PRIMARY KEY, room_id TEXT NOT NULL, parent_id TEXT, created TEXT NOT NULL)"""


def connect_journal(path: str, *, busy_timeout: float = 5.0) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")  # survives a process crash, as the inbox does
    limit_wal(conn)  # the writer that restarts the WAL after a checkpoint truncates it
    return conn


class IntakeJournal:
    """The receiver's side: record (on the event loop: an INSERT and COMMIT in WAL mode take
    tens of microseconds when nobody else writes), checkpoint and prune (in a thread)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.recorded = 0  # events recorded by this process: the maintenance tells idle by it
        # On the event loop: a journal someone else holds locked must fail fast (the event is
        # spooled), not stall every acknowledgement for the default five seconds.
        self._conn = connect_journal(path, busy_timeout=RECORD_BUSY_SECONDS)
        self._conn.execute(_SCHEMA)
        self._conn.execute(_BY_TIME)
        self._conn.execute(_OWN)
        self._conn.execute("PRAGMA wal_autocheckpoint = 0")  # checkpoint() does it, off the loop

    def record(self, key: str, resource: str, event: str, body: dict[str, Any],
               received_at: datetime) -> bool:
        """False when `key` is already here (a redelivery)."""
        return self.record_many([(key, resource, event, body, received_at)])[0]

    def record_many(self, events: list[Received]) -> list[bool]:
        """Several events in one transaction (one commit, one write of the pages they share);
        for each, False when its key was here already (a redelivery, or an earlier one of these)."""
        rows = [(key, resource, event, as_json(body), at.isoformat())
                for key, resource, event, body, at in events]
        if len(rows) == 1:  # on its own it is its own transaction: no BEGIN and COMMIT to send
            added = [self._conn.execute(_INSERT, rows[0]).rowcount == 1]
        else:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                added = [self._conn.execute(_INSERT, row).rowcount == 1 for row in rows]
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        self.recorded += len(rows)
        return added

    def record_own(self, message_id: str, room_id: str, parent_id: str | None,
                   created: datetime) -> None:
        self._conn.execute("INSERT OR IGNORE INTO own_messages VALUES (?, ?, ?, ?)",
                           (message_id, room_id, parent_id, created.isoformat()))
        self.recorded += 1

    def checkpoint(self, before: datetime | None = None, *, idle: bool = False) -> None:
        """Fold the WAL into the file and, with `before`, forget older events (blocking).
        `idle` (nothing recorded for a moment): empty the WAL file as well."""
        conn = connect_journal(self.path)
        try:
            if before is not None:
                conn.execute("DELETE FROM intake WHERE received_at < ?", (before.isoformat(),))
                conn.execute("DELETE FROM own_messages WHERE created < ?", (before.isoformat(),))
            if not idle or not truncate_wal(conn, 1.0, 5.0):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    def close(self) -> None:
        self._conn.close()


class Grouped:
    """The journal's `record` for the webhook route: the events of requests that arrived in
    the same turn of the event loop (a burst: Webex delivering to many admins at once) are
    written in one transaction after that turn, and each request is answered once its event
    is written. One commit per webhook was a quarter of the receiving process's CPU, and the
    last webhook of a burst waited for every commit before it (py-spy, benchmarks.receiver).

    The new events of a write are handed on (`hand_on`, once, with all of them) right after
    the commit, in the same turn: the worker starts on them while the answers are still being
    written, instead of after every handler of the burst has resumed and answered. So the
    handler does not hand them on itself (`Intake.hands_on`). A request cancelled before the write
    (a shutdown) is not written, nor handed on: it is not acknowledged either, so Webex
    delivers it again. One cancelled after the write has been handed on already.
    """

    def __init__(self, journal: IntakeJournal,
                 hand_on: Callable[[list[Received]], object]) -> None:
        self._journal = journal
        self._hand_on = hand_on
        self._waiting: list[tuple[Received, asyncio.Future[bool]]] = []

    async def __call__(self, key: str, resource: str, event: str, body: dict[str, Any],
                       received_at: datetime) -> bool:
        loop = asyncio.get_running_loop()
        if not self._waiting:
            loop.call_soon(self._write)  # after the handlers this turn has started
        future: asyncio.Future[bool] = loop.create_future()
        self._waiting.append(((key, resource, event, body, received_at), future))
        return await future

    def _write(self) -> None:
        waiting = [(received, future) for received, future in self._waiting
                   if not future.cancelled()]
        self._waiting = []
        if not waiting:
            return
        try:
            added = self._journal.record_many([received for received, _ in waiting])
        except Exception as error:  # each request spools its event, as for one write
            for _, future in waiting:
                future.set_exception(error)
            return
        for (_, future), new in zip(waiting, added, strict=True):
            future.set_result(new)  # the handlers resume in the next turn, after the hand-on
        self._hand_on([received for (received, _), new in zip(waiting, added, strict=True)
                       if new])
