"""SQLite work in one thread: each caller's work is a short synchronous function, and the work
queued by many callers is committed together (group commit).

Through aiosqlite every statement is a hop between the event loop and its thread, and the
write lock is held across those hops. Here a transaction runs start to end inside the thread,
so it holds the lock for microseconds, and a burst of webhooks costs one commit, not hundreds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError

from .direct import execute
from .wal import IDLE_CHECKPOINT_SECONDS, limit_wal, truncate_wal

log = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[Connection], Any]
Item = tuple[Work, asyncio.AbstractEventLoop, Any]
MAX_BATCH = 64  # bounds how long urgent work can wait behind a batch in progress


def prepare_sqlite(dbapi_conn: Any, busy_timeout: float, *, checkpoints: bool = True) -> None:
    """Per-connection settings: our own BEGINs, a busy timeout, WAL, NORMAL sync.

    Switching to WAL needs the database to itself and SQLite does not always wait for that
    (several processes opening a new file at once get "database is locked" at once), so the
    switch is retried within the busy timeout, and skipped when the file is WAL already.
    """
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (sqlite3 legacy mode off)
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        deadline = time.monotonic() + max(busy_timeout, 5.0)
        while True:
            try:
                cursor.execute("PRAGMA journal_mode")
                if str(cursor.fetchone()[0]).lower() != "wal":
                    cursor.execute("PRAGMA journal_mode = WAL")
                break
            except Exception as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        # WAL with NORMAL survives a process crash (kill -9) intact; only power loss can
        # drop the last commits. That is the durability the inbox promises.
        cursor.execute("PRAGMA synchronous = NORMAL")
        limit_wal(cursor)
        if not checkpoints:  # the event loop's connection: checkpoints are the thread's job
            cursor.execute("PRAGMA wal_autocheckpoint = 0")
    finally:
        cursor.close()


def sqlite_sync_engine(async_url: str, busy_timeout: float, *,
                       checkpoints: bool = True) -> Engine:
    """The synchronous (pysqlite) engine for a file the async engine also opens."""
    url = async_url.replace("sqlite+aiosqlite://", "sqlite://", 1)
    engine = create_engine(url, connect_args={"timeout": busy_timeout,
                                              "check_same_thread": False},
                           hide_parameters=True)  # bound values hold tokens and personal data

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        prepare_sqlite(dbapi_conn, busy_timeout, checkpoints=checkpoints)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # On the driver's connection: through exec_driver_sql this one statement cost ~4 % of
        # the worker's CPU under load (py-spy).
        execute(conn.connection.driver_connection, "BEGIN IMMEDIATE")

    return engine


class NotNow(Exception):
    """Work that cannot be done on the event loop without waiting: there is no connection of
    its own there, or another writer holds the database just now."""


class SQLiteWorker:
    """One thread, one connection; `await run(fn)` returns fn's result once it is committed.

    Urgent work (recording a webhook before it is acknowledged) goes ahead of the rest. First it
    is tried right here on the event loop, on a second connection that never waits for the
    write lock: an INSERT and COMMIT in WAL mode take tens of microseconds, where a round trip
    to the thread costs milliseconds when the loop is busy and threads contend for the GIL. If
    the thread holds the lock just then, the work goes to the front of its queue instead.
    """

    def __init__(self, engine: Engine, fast: Engine | None = None, *,
                 busy_timeout: float = 5.0) -> None:
        self._engine = engine
        self._busy_timeout = busy_timeout
        self._wrote = False  # since the last truncating checkpoint (the fast connection too)
        self._fast_engine = fast
        self._fast: Connection | None = fast.connect() if fast is not None else None
        self._urgent: deque[Item] = deque()
        self._normal: deque[Item] = deque()
        self._ready = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._main, name="sqlite-store", daemon=True)
        self._thread.start()

    def run_now(self, work: Callable[[Connection], T]) -> T:
        """`work` in one transaction, committed here on the event loop's connection, or
        NotNow (and nothing written) when that would wait."""
        if self._fast is None:
            raise NotNow
        try:
            with self._fast.begin():
                self._wrote = True
                return work(self._fast)
        except OperationalError as error:
            if _locked(error):
                raise NotNow from error
            raise

    async def run(self, work: Callable[[Connection], T], *, urgent: bool = False) -> T:
        if urgent:
            with contextlib.suppress(NotNow):
                return self.run_now(work)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._ready:
            if self._stopping:
                raise RuntimeError("the store is closed")
            (self._urgent if urgent else self._normal).append((work, loop, future))
            self._wrote = True
            self._ready.notify()
        return await future

    async def close(self) -> None:
        with self._ready:
            self._stopping = True
            self._ready.notify()
        await asyncio.to_thread(self._thread.join)
        if self._fast is not None:
            self._fast.close()
            self._fast = None
        if self._fast_engine is not None:
            self._fast_engine.dispose()
        self._engine.dispose()

    def _next_batch(self, conn: Connection) -> list[Item] | None:
        with self._ready:
            while not (self._urgent or self._normal or self._stopping):
                # Woken once a second when idle (the fast path writes without waking us).
                if not self._ready.wait(IDLE_CHECKPOINT_SECONDS) and self._wrote:
                    self._wrote = False  # idle for a moment: keep the WAL from staying large
                    self._ready.release()
                    try:
                        self._checkpoint(conn)
                    finally:
                        self._ready.acquire()
            source = self._urgent or self._normal
            if not source:
                return None  # stopping, and nothing left to do
            return [source.popleft() for _ in range(min(len(source), MAX_BATCH))]

    def _main(self) -> None:
        with self._engine.connect() as conn:
            while (batch := self._next_batch(conn)) is not None:
                self._commit(batch, conn)

    def _checkpoint(self, conn: Connection) -> None:
        """An idle moment: empty the WAL, waiting for nobody (work arriving goes first)."""
        try:
            raw = conn.connection.dbapi_connection
            if raw is not None and not truncate_wal(raw, 0.0, self._busy_timeout):
                self._wrote = True  # a reader or a writer was there: try at the next idle
        except Exception:
            log.warning("WAL checkpoint failed; trying again when idle", exc_info=True)

    def _commit(self, batch: list[Item], conn: Connection) -> None:
        if not batch:
            return
        try:
            with conn.begin():
                results = [work(conn) for work, _, _ in batch]
        except Exception as error:
            if len(batch) == 1 or _locked(error):
                # Another process holds the database: every item would wait as long again.
                for _, loop, future in batch:
                    _settle(loop, future, error=error)
                return
            # One piece of work failed the shared transaction: give each its own.
            for item in batch:
                self._commit([item], conn)
            return
        for (_, loop, future), result in zip(batch, results, strict=True):
            _settle(loop, future, result=result)


def _locked(error: Exception) -> bool:
    return isinstance(error, OperationalError) and ("locked" in str(error) or "busy" in str(error))


def _settle(loop: asyncio.AbstractEventLoop, future: Any, *, result: Any = None,
            error: BaseException | None = None) -> None:
    def settle() -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the caller's loop has closed: nobody is waiting any more
        log.debug("store result dropped: its event loop is closed")
