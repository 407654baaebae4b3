"""Who holds the inbox's leases, and whether that process still lives.

A lease names its owner (one per process) and runs until `lease_until`. A process killed with
SIGKILL cannot give its leases back, and waiting out the lease (30 s) delayed every command it
had acknowledged. So the lease also ends when its owner is known to be dead:

- PostgreSQL: each process holds a session advisory lock named by its owner id for as long as
  it lives (on a connection of its own); the server drops it the moment the process's
  connection closes, and a lease whose owner holds no such lock is free. Owner ids are decimal
  numbers (the lock's key); a lease of any other form (written by an older version) ends only
  with its time.
- SQLite: one process by design, so at its start every lease of another owner is a dead
  process's, and is given back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ._base import StoreBase
from .schema import inbox_events

log = logging.getLogger(__name__)
OWNER_LOCK_CLASS = 4539214  # 0x45434E, "ECN": the first key of the two-key advisory lock
KEEP_SECONDS = 2.0  # how often the holder checks that its lock's session is still there
_t = inbox_events
_OWNER_DEAD = text(
    "NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted"
    " AND l.classid = 4539214 AND l.objsubid = 2"  # OWNER_LOCK_CLASS
    " AND l.objid::text = inbox_events.owner"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))")


def new_owner() -> str:
    """A process's owner id: a number that is also its advisory lock's key."""
    return str(secrets.randbelow(2**31 - 1) + 1)


class OwnerMixin(StoreBase):
    _owner_task: asyncio.Task[None] | None = None

    def lease_free(self, now: Any) -> Any:
        """The condition under which an inbox row's lease may be taken."""
        lapsed = or_(_t.c.lease_until.is_(None), _t.c.lease_until <= now)
        if self.dialect != "postgresql":
            return lapsed
        numbered = _t.c.owner.op("~")("^[0-9]{1,10}$")
        return or_(lapsed, and_(numbered, _OWNER_DEAD))

    async def hold_owner(self, owner: str) -> None:
        """From now until close(), `owner`'s leases live only as long as this process (on
        PostgreSQL; a no-op elsewhere). Returns once the lock is held."""
        if self.dialect != "postgresql":
            return
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._owner_task = asyncio.create_task(self._keep_owner(int(owner), ready),
                                               name="inbox-owner-lock")
        await ready

    async def _keep_owner(self, key: int, ready: asyncio.Future[None]) -> None:
        """Hold the lock; if its connection is lost (the database restarted), take it again."""
        lost = False
        while True:
            try:
                async with self._engine.connect() as conn:
                    await conn.execution_options(isolation_level="AUTOCOMMIT")
                    await conn.execute(select(func.pg_advisory_lock(OWNER_LOCK_CLASS, key)))
                    if lost:
                        log.warning("inbox owner lock held again")
                    lost = False
                    if not ready.done():
                        ready.set_result(None)
                    await _while_alive(conn)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not ready.done():
                    ready.set_exception(error)
                    return
                if not lost:
                    log.warning("inbox owner lock lost (%s); other processes may resume this "
                                "one's events until it is held again", type(error).__name__)
                lost = True
            await asyncio.sleep(KEEP_SECONDS)

    async def release_owner(self) -> None:
        if self._owner_task is not None:
            self._owner_task.cancel()
            with contextlib.suppress(BaseException):
                await self._owner_task
            self._owner_task = None

    async def release_other_leases(self, owner: str) -> int:
        """SQLite at start: every lease not `owner`'s is a dead process's. Returns how many."""
        stmt = (update(_t).where(_t.c.state == "pending", _t.c.owner.is_not(None),
                                 _t.c.owner != owner)
                .values(owner=None, lease_until=None))
        return await self._run(lambda conn: conn.execute(stmt).rowcount)


async def _while_alive(conn: AsyncConnection) -> None:
    while True:
        await asyncio.sleep(KEEP_SECONDS)
        await conn.execute(select(1))
