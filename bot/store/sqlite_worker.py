"""SQLite work in one thread: each caller's work is a short synchronous function, and the work
queued by many callers is committed together (group commit).

Through aiosqlite every statement is a hop between the event loop and its thread, and the
write lock is held across those hops. Here a transaction runs start to end inside the thread,
so it holds the lock for microseconds, and a burst of webhooks costs one commit, not hundreds.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event

log = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[Connection], Any]
MAX_BATCH = 512
_STOP = object()


def sqlite_sync_engine(async_url: str, busy_timeout: float) -> Engine:
    """The synchronous (pysqlite) engine for a file the async engine also opens."""
    url = async_url.replace("sqlite+aiosqlite://", "sqlite://", 1)
    engine = create_engine(url, connect_args={"timeout": busy_timeout,
                                              "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        # WAL with NORMAL survives a process crash (kill -9) intact; only power loss can
        # drop the last commits. That is the durability the inbox promises.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class SQLiteWorker:
    """One thread, one connection; `await run(fn)` returns fn's result once it is committed."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name="sqlite-store", daemon=True)
        self._thread.start()

    async def run(self, work: Callable[[Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((work, loop, future))
        return await future

    async def close(self) -> None:
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._engine.dispose()

    def _main(self) -> None:
        with self._engine.connect() as conn:
            stopping = False
            while not stopping:
                batch = [self._queue.get()]
                while len(batch) < MAX_BATCH:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stopping = any(item is _STOP for item in batch)
                self._commit([item for item in batch if item is not _STOP], conn)

    def _commit(self, batch: list[tuple[Work, asyncio.AbstractEventLoop, Any]],
                conn: Connection) -> None:
        if not batch:
            return
        try:
            with conn.begin():
                results = [work(conn) for work, _, _ in batch]
        except Exception as error:
            if len(batch) == 1:
                _, loop, future = batch[0]
                _settle(loop, future, error=error)
                return
            # One piece of work failed the shared transaction: give each its own.
            for item in batch:
                self._commit([item], conn)
            return
        for (_, loop, future), result in zip(batch, results, strict=True):
            _settle(loop, future, result=result)


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
