"""What the store's parts share: the engine and dialect-specific upserts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from .sqlite_worker import NotNow, SQLiteWorker

T = TypeVar("T")


class StoreBase:
    _engine: AsyncEngine
    _worker: SQLiteWorker | None = None

    async def _run(self, work: Callable[[Connection], T], *, urgent: bool = False) -> T:
        """Run `work` in one transaction; on a SQLite file, in the store's thread with others'
        (`urgent`: ahead of background work)."""
        if self._worker is not None:
            return await self._worker.run(work, urgent=urgent)
        async with self._engine.begin() as conn:
            return await conn.run_sync(work)

    def _run_now(self, work: Callable[[Connection], T]) -> T:
        """`work` committed right here on the event loop (SQLite); NotNow when that would
        wait, or on a database where it cannot be done (PostgreSQL)."""
        if self._worker is None:
            raise NotNow
        return self._worker.run_now(work)

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._engine.dialect.name

    def _prepared(self, name: str, build: Callable[[], Any]) -> Any:
        """A statement built once per store and then executed with parameters: building one
        per call cost more CPU on the event loop than running it."""
        statements: dict[str, Any] = self.__dict__.setdefault("_statements", {})
        statement = statements.get(name)
        if statement is None:
            statement = statements[name] = build()
        return statement

    def _insert(self, table: Table) -> Any:
        """An INSERT that knows ON CONFLICT on this engine (both dialects spell it the same)."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)
