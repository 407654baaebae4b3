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
import json
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.receiving.body import as_json
from bot.store.own_messages import CANDIDATES
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


def _connect(path: str, *, busy_timeout: float = 5.0) -> sqlite3.Connection:
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
        self._conn = _connect(path, busy_timeout=RECORD_BUSY_SECONDS)
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
        conn = _connect(self.path)
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


def read_intake(path: str, since: datetime) -> list[tuple[str, str, str, dict[str, Any],
                                                          datetime]]:
    """The worker's side, at start: (key, resource, event, body, received_at) since `since`."""
    if not os.path.exists(path):
        return []  # no receiving process has written here yet
    conn = sqlite3.connect(path, timeout=5.0)
    try:
        rows = conn.execute("SELECT key, resource, event, body, received_at FROM intake "
                            "WHERE received_at >= ? ORDER BY received_at",
                            (since.isoformat(),)).fetchall()
    except sqlite3.OperationalError:
        return []  # the file exists but holds no journal yet
    finally:
        conn.close()
    return [(k, r, e, json.loads(b), datetime.fromisoformat(t)) for k, r, e, b, t in rows]


class JournalOwnMessages:
    """The worker's side, when a resumed reply looks for one posted before: the bot's own
    group messages the receiving process kept (bot/store/own_messages.py has the same for
    PostgreSQL and one process). Read where they are, so that the worker writes nothing more
    per reply."""

    def __init__(self, path: str) -> None:
        self.path = path

    async def own_messages_in(self, room_id: str, parent_id: str | None,
                              since: datetime | None) -> list[str]:
        return await asyncio.to_thread(self._read, room_id, parent_id, since)

    def _read(self, room_id: str, parent_id: str | None, since: datetime | None) -> list[str]:
        if not os.path.exists(self.path):
            return []
        query = "SELECT message_id FROM own_messages WHERE room_id = ?"
        params: list[str] = [room_id]
        if parent_id is not None:
            query += " AND parent_id = ?"
            params.append(parent_id)
        if since is not None:
            query += " AND created >= ?"
            params.append(since.astimezone(UTC).isoformat())
        conn = sqlite3.connect(self.path, timeout=5.0)
        try:
            rows = conn.execute(query + f" ORDER BY created DESC LIMIT {CANDIDATES}",
                                params).fetchall()
        except sqlite3.OperationalError:
            return []  # a journal from before own messages were kept
        finally:
            conn.close()
        return [str(row[0]) for row in rows]


def spooled_keys(path: str, own_before: datetime) -> tuple[list[tuple[str, datetime]], int]:
    """The worker's side, for pruning a spool file: (key, received_at) of every event in it,
    and how many own messages' ids in it are older than `own_before`."""
    if not os.path.exists(path):
        return [], 0
    conn = sqlite3.connect(path, timeout=5.0)
    try:
        rows = conn.execute("SELECT key, received_at FROM intake").fetchall()
        try:
            (old_own,) = conn.execute("SELECT count(*) FROM own_messages WHERE created < ?",
                                      (own_before.isoformat(),)).fetchone()
        except sqlite3.OperationalError:
            old_own = 0  # no own messages kept in this file
    except sqlite3.OperationalError:
        return [], 0
    finally:
        conn.close()
    return [(k, datetime.fromisoformat(t)) for k, t in rows], int(old_own)


def forget_spooled(path: str, keys: list[str], own_before: datetime) -> int:
    """Delete these events from a spool file (the inbox has them, or they are too old to be
    run) and the own messages' ids older than `own_before`, then fold its WAL in; the number
    of events deleted."""
    conn = _connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            deleted = conn.executemany("DELETE FROM intake WHERE key = ?",
                                       [(key,) for key in keys]).rowcount
            conn.execute("DELETE FROM own_messages WHERE created < ?", (own_before.isoformat(),))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if not truncate_wal(conn, 1.0, 5.0):
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return deleted
    finally:
        conn.close()
