"""One checker at a time for an organization's watch: a try-lock, across replicas on PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select

from ._base import StoreBase


def watch_lock_key(org_id: str) -> int:
    """The advisory-lock key of an organization's watch (distinct from its change lock)."""
    digest = hashlib.sha256(f"watch:{org_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class WatchLockMixin(StoreBase):
    @asynccontextmanager
    async def watch_lock(self, org_id: str) -> AsyncIterator[bool]:
        """Try to become the one checker of an organization's watch: yields False at once
        when another holds it. PostgreSQL: a session advisory lock, released when the block
        ends or when the holder's connection dies, so another replica takes over. SQLite:
        within this process (one process per SQLite file)."""
        if self.dialect != "postgresql":
            checkers = self.__dict__.setdefault("_watch_checkers", set())
            if org_id in checkers:
                yield False
                return
            checkers.add(org_id)
            try:
                yield True
            finally:
                checkers.discard(org_id)
            return
        key = watch_lock_key(org_id)
        conn = await self._engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield bool((await conn.execute(select(func.pg_try_advisory_lock(key)))).scalar())
        finally:
            # Ending the session is what releases the lock, also when the check was
            # cancelled or failed half way: the session never goes back to the pool.
            await conn.invalidate()
            await conn.close()
