"""Keeping a SQLite write-ahead log small: a size limit on every connection, and a truncating
checkpoint when the file is idle.

SQLite never shrinks a WAL file on its own: a checkpoint lets the next writer start it again
from the beginning, but the file keeps its largest size (175 MB after a burst of 10,000
events). `journal_size_limit` makes the writer that restarts the log truncate it to the limit;
a TRUNCATE checkpoint, tried when nobody has written for a moment, empties it. Both work on a
plain sqlite3 connection, so the receiving process's journal uses them too.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024  # bytes a restarted WAL keeps: ~1,000 pages
IDLE_CHECKPOINT_SECONDS = 1.0  # no write for this long: the log is folded in and emptied


def limit_wal(cursor: Any) -> None:
    """Per connection (a DB-API cursor or connection): truncate the WAL to the limit on restart."""
    cursor.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")


def truncate_wal(dbapi_conn: Any, wait: float, busy_timeout: float) -> bool:
    """Fold the whole WAL into the database and empty the file, waiting at most `wait` for
    readers and writers (outside any transaction; the connection's `busy_timeout` is put back
    after). False when someone kept it from finishing: the next idle moment tries again."""
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        try:
            busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.OperationalError:
            return False
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        return not busy
    finally:
        cursor.close()


def wal_size(path: str) -> int:
    """The size of the database's WAL file in bytes (0 when there is none)."""
    try:
        return os.path.getsize(f"{path}-wal")
    except OSError:
        return 0
