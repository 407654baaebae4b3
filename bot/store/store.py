"""The Store: one durable store on SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from .audit import AuditMixin
from .inbox import InboxMixin
from .locks import LocalLocks, LockMixin
from .migrations import current_version, run_migrations
from .own_messages import OwnMessageMixin
from .rates import RateMixin
from .signin import SignInMixin
from .sqlite_worker import SQLiteWorker, prepare_sqlite, sqlite_sync_engine
from .tokens import SecretMixin, TokenMixin
from .url import (
    SQLITE_BUSY_TIMEOUT_S,
    connect_args_for,
    dialect_of,
    is_memory_sqlite,
    normalize_database_url,
)
from .watch import WatchMixin
from .watch_lock import WatchLockMixin
from .webhooks import WebhookMixin

log = logging.getLogger(__name__)


def _sqlite_engine(url: str, connect_args: dict[str, Any]) -> AsyncEngine:
    # One connection: one writer per process, and a :memory: database lives as long as it.
    # Across processes, WAL lets readers run beside the writer and busy_timeout queues writers.
    engine = create_async_engine(
        url, connect_args=connect_args, poolclass=AsyncAdaptedQueuePool,
        pool_size=1, max_overflow=0, hide_parameters=True,
    )  # fmt: skip

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        prepare_sqlite(dbapi_conn, SQLITE_BUSY_TIMEOUT_S)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so a read-then-write transaction
        # never fails half way with SQLITE_BUSY; that also serializes migrations.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Store(InboxMixin, AuditMixin, TokenMixin, SecretMixin, LockMixin, SignInMixin,
            WebhookMixin, RateMixin, WatchMixin, WatchLockMixin, OwnMessageMixin):
    """Inbox, audit trail, card tokens, locks, secrets, sign-ins, owned webhooks, rate limits,
    the watch and the bot's own group messages on one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._local_locks = LocalLocks()
        self._ping_failed = False

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        schema: str | None = None,
        pool_size: int = 10,
    ) -> Store:
        """Open the store (ValueError for an unsupported URL) and bring its schema up to date.

        `schema` (PostgreSQL only) sets the search_path, which tests use for isolation.
        """
        async_url = normalize_database_url(url)
        connect_args = connect_args_for(url, schema=schema)
        if dialect_of(url) == "sqlite":
            engine = _sqlite_engine(async_url, connect_args)
        else:
            engine = create_async_engine(
                async_url, connect_args=connect_args, pool_size=pool_size,
                max_overflow=pool_size * 2, pool_pre_ping=True,
                hide_parameters=True,  # bound values hold tokens and personal data
            )  # fmt: skip
        store = cls(engine)
        try:
            if migrate:
                await store.migrate()
            if dialect_of(url) == "sqlite" and not is_memory_sqlite(url):
                store._worker = SQLiteWorker(
                    sqlite_sync_engine(async_url, SQLITE_BUSY_TIMEOUT_S),
                    fast=sqlite_sync_engine(async_url, 0.0, checkpoints=False),
                    busy_timeout=SQLITE_BUSY_TIMEOUT_S)
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        await self.release_owner()
        if self._worker is not None:
            await self._worker.close()
            self._worker = None
        await self._engine.dispose()

    async def ping(self) -> bool:
        """True when the database answers."""
        try:
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as error:  # any failure means "not healthy" to the caller
            if not self._ping_failed:  # once per outage: readiness probes ping every 2 s
                log.warning("database ping failed (%s: %s)", type(error).__name__,
                            str(error)[:200])
            self._ping_failed = True
            return False
        if self._ping_failed:
            log.warning("database ping answered again")
        self._ping_failed = False
        return True

    async def migrate(self, *, target: int | None = None) -> list[int]:
        """Apply missing migrations (all, or up to target); returns the versions applied."""
        return await run_migrations(self._engine, target=target)

    async def schema_version(self) -> int:
        """The database's schema version, 0 when empty."""
        async with self._engine.begin() as conn:
            return await current_version(conn)
