"""Per-organization locks for read-modify-write, across processes on PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select

from ._base import StoreBase


def lock_name(org_id: str, target: str | None = None) -> str:
    """What a lock is for: an organization's setting, or one of its locations'."""
    return org_id if target is None else f"{org_id}/location/{target}"


def org_lock_key(org_id: str, target: str | None = None) -> int:
    """A stable signed 64-bit advisory-lock key for an organization, or one of its locations."""
    name = lock_name(org_id, target)
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class LocalLocks:
    """asyncio.Locks by name that disappear when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(name, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[name] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[name]
            if users == 1:
                del self._locks[name]
            else:
                self._locks[name] = (lock, users - 1)


class LockMixin(StoreBase):
    _local_locks: LocalLocks

    @asynccontextmanager
    async def org_lock(self, org_id: str, target: str | None = None) -> AsyncIterator[None]:
        """Serialize read-modify-write for one organization's setting, or (with `target`, a
        location id) for one location's: changes of different targets do not wait.

        PostgreSQL: a session advisory lock on a connection kept for the block, so replicas
        exclude each other. SQLite: an in-process lock (one process per SQLite file).
        """
        async with self._local_locks.hold(lock_name(org_id, target)):
            if self.dialect != "postgresql":
                yield
                return
            # Within a process the local lock queues the waiters, so at most one pooled
            # connection per target waits on the advisory lock: a burst for one target can
            # no longer take every connection and starve the lock holder's own queries.
            async with self._advisory_lock(org_lock_key(org_id, target)):
                yield

    @asynccontextmanager
    async def _advisory_lock(self, key: int) -> AsyncIterator[None]:
        conn = await self._engine.connect()
        try:
            # Autocommit: hold the lock without holding a transaction open.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            try:
                await conn.execute(select(func.pg_advisory_lock(key)))
            except BaseException:
                # Cancelled or failed mid-acquire: the server may still grant the lock to
                # this session, so the session must not go back to the pool.
                await conn.invalidate()
                raise
            try:
                yield
            finally:
                try:
                    await conn.execute(select(func.pg_advisory_unlock(key)))
                except BaseException:
                    await conn.invalidate()  # closing the session drops its locks
                    raise
        finally:
            await conn.close()
