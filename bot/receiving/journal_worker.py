"""The worker's side of the receiving process's journal (bot/receiving/journal.py): what was
acknowledged, read at start; the bot's own group messages, looked up by a resumed reply; spool
files, pruned once the inbox has their events."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from datetime import UTC, datetime
from typing import Any

from bot.receiving.journal import connect_journal
from bot.store.own_messages import CANDIDATES
from bot.store.wal import truncate_wal


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
    conn = connect_journal(path)
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
