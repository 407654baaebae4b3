"""The durable inbox: each webhook event processed once, across crashes and replicas."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, select, true, tuple_, update

from . import direct
from .owners import OwnerMixin
from .records import FINISHED_EVENT_STATES, InboxEvent
from .schema import inbox_events, inbox_steps
from .sqlite_worker import NotNow
from .steps import Cards, StepMixin, Steps

_t = inbox_events


def _event(row: Any) -> InboxEvent:
    return InboxEvent(
        key=row.key,
        resource=row.resource,
        event=row.event,
        body=row.body,
        received_at=row.received_at,
        attempts=row.attempts,
        state=row.state,
    )


_RECORD = ("INSERT INTO inbox_events (key, resource, event, body, received_at, attempts, state,"
           " owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
           " ON CONFLICT (key) DO NOTHING")
_FINISH = ("UPDATE inbox_events SET state = ?, finished_at = ?, detail = ?, lease_until = NULL"
           " WHERE key = ? AND owner = ? AND state = 'pending'")

_EVENT_COLUMNS = (_t.c.key, _t.c.resource, _t.c.event, _t.c.body, _t.c.received_at,
                  _t.c.attempts, _t.c.state)  # fmt: skip


def _received_row(key: str, resource: str, event: str, body: dict[str, Any], at: datetime,
                  owner: str | None, lease: timedelta | None) -> dict[str, Any]:
    """A new inbox row: pending; with an owner and a lease, already claimed (attempt 1)."""
    held = owner is not None and lease is not None
    return {"key": key, "resource": resource, "event": event, "body": body, "received_at": at,
            "attempts": 1 if held else 0, "state": "pending", "owner": owner if held else None,
            "lease_until": at + lease if held and lease is not None else None}


def _record_direct(raw: sqlite3.Connection, row: dict[str, Any]) -> bool:
    """One _received_row on SQLite's own connection: False when its key was there already."""
    return direct.execute(raw, _RECORD, (
        row["key"], row["resource"], row["event"], direct.as_json(row["body"]),
        direct.stamp(row["received_at"]), row["attempts"], row["state"], row["owner"],
        direct.stamp(row["lease_until"]))).rowcount == 1


class InboxMixin(StepMixin, OwnerMixin):
    async def record_event(
        self,
        key: str,
        resource: str,
        event: str,
        body: dict[str, Any],
        now: datetime,
        *,
        owner: str | None = None,
        lease: timedelta | None = None,
    ) -> bool:
        """Record a received event; False when that key was already recorded (any state).

        With `owner` and `lease` the recorder also holds the lease, as claim_event would
        (attempt 1), saving the receiving process a second transaction.
        """
        stmt = self._prepared("record_event", lambda: (
            self._insert(_t).on_conflict_do_nothing(index_elements=["key"]).returning(_t.c.key)))
        params = _received_row(key, resource, event, body, now, owner, lease)

        def record(conn: Connection) -> bool:
            if (raw := direct.driver(conn)) is None:
                return conn.execute(stmt, params).first() is not None
            return _record_direct(raw, params)

        return await self._run(record, urgent=True)

    def record_events_now(self, events: list[tuple[str, str, str, dict[str, Any], datetime]],
                          *, owner: str, lease: timedelta) -> list[bool]:
        """Several (key, resource, event, body, received_at) in one transaction, each as
        record_event with `owner` and `lease` would record it, committed here on the event loop
        (a burst the receiving process handed on together): for each, False when its key was
        recorded before. NotNow, with nothing recorded, when that would wait (another writer
        holds the database) or cannot be done here (PostgreSQL): then record them one by one."""
        rows = [_received_row(*received, owner, lease) for received in events]

        def record(conn: Connection) -> list[bool]:
            if (raw := direct.driver(conn)) is None:
                raise NotNow
            return [_record_direct(raw, row) for row in rows]

        return self._run_now(record)

    async def record_events(
        self, events: list[tuple[str, str, str, dict[str, Any], datetime]]
    ) -> None:
        """Record (key, resource, event, body, received_at) rows unleased, skipping keys
        already recorded: what a receiving process acknowledged, brought in at start."""
        if not events:
            return
        stmt = self._insert(_t).on_conflict_do_nothing(index_elements=["key"])
        rows = [_received_row(*received, None, None) for received in events]
        await self._run(lambda conn: conn.execute(stmt, rows))

    async def recorded_keys(self, keys: list[str]) -> set[str]:
        """Which of these event keys the inbox holds (in any state)."""
        if not keys:
            return set()
        stmt = select(_t.c.key).where(_t.c.key.in_(keys))
        return await self._run(lambda conn: {str(row.key) for row in conn.execute(stmt)})

    async def claim_event(
        self, key: str, owner: str, now: datetime, lease: timedelta
    ) -> InboxEvent | None:
        """Take the lease on a pending event if nobody holds a live one; None otherwise."""
        # One UPDATE: on PostgreSQL a concurrent claimer blocks on the row and then
        # re-checks the WHERE against the winner's version, so only one gets a row back.
        stmt = (
            update(_t)
            .where(_t.c.key == key, _t.c.state == "pending", self.lease_free(now))
            .values(owner=owner, lease_until=now + lease, attempts=_t.c.attempts + 1)
            .returning(*_EVENT_COLUMNS)
        )
        row = await self._run(lambda conn: conn.execute(stmt).first())
        return None if row is None else _event(row)

    async def finish_event(
        self,
        key: str,
        owner: str,
        state: str = "done",
        now: datetime | None = None,
        detail: str | None = None,
        *,
        steps: Steps | None = None,
        cards: Cards | None = None,
    ) -> bool:
        """Mark a claimed event done or failed; False if owner no longer holds it. `steps` and
        `cards` (replies posted and not recorded yet: record_steps) are recorded in the same
        transaction (the steps only when someone else holds the event: see below)."""
        if state not in FINISHED_EVENT_STATES:
            raise ValueError(f"finish_event state must be done or failed, not {state!r}")
        stmt = self._prepared("finish_event", lambda: (
            update(_t)
            .where(_t.c.key == bindparam("b_key"), _t.c.owner == bindparam("b_owner"),
                   _t.c.state == "pending")
            .values(state=bindparam("b_state"), finished_at=bindparam("b_at"),
                    detail=bindparam("b_detail"), lease_until=None)))
        at = now or datetime.now(UTC)
        params = {"b_key": key, "b_owner": owner, "b_state": state, "b_at": at,
                  "b_detail": detail}

        def finish(conn: Connection) -> bool:
            # A finished event is never resumed: its steps are needed only by whoever holds it
            # now, if not `owner` (its lease ran out). Which message carries a card always is.
            finished = direct.write(conn, _FINISH, (state, direct.stamp(at), detail, key, owner),
                                    stmt, params) == 1
            self._write_steps(conn, key, {} if finished else steps or {}, cards or {})
            return finished

        # Urgent: its reply has landed, and the person's next command waits behind it.
        return await self._run(finish, urgent=True)

    async def renew_lease(self, key: str, owner: str, now: datetime, lease: timedelta) -> bool:
        """Extend a held lease while a long event runs; False if owner no longer holds it."""
        stmt = (
            update(_t)
            .where(_t.c.key == key, _t.c.owner == owner, _t.c.state == "pending")
            .values(lease_until=now + lease)
        )
        return await self._run(lambda conn: conn.execute(stmt).rowcount == 1)

    async def release_event(self, key: str, owner: str, *, retry_at: datetime | None = None,
                            steps: Steps | None = None, cards: Cards | None = None) -> bool:
        """Give the lease back (shutdown); the event stays pending, claimable at once or from
        `retry_at` on (a retry with backoff). False if not held. `steps` and `cards` as for
        finish_event."""
        stmt = (
            update(_t)
            .where(_t.c.key == key, _t.c.owner == owner, _t.c.state == "pending")
            .values(owner=None, lease_until=retry_at)
        )

        def release(conn: Connection) -> bool:
            self._write_steps(conn, key, steps or {}, cards or {})
            return conn.execute(stmt).rowcount == 1

        return await self._run(release)

    async def claimable_events(
        self, now: datetime, max_age: timedelta, limit: int = 100,
        after: tuple[datetime, str] | None = None,
    ) -> list[InboxEvent]:
        """Pending events with a free or lapsed lease received within max_age, oldest first
        (`after`: only those after this (received_at, key), to page through them)."""
        stmt = (
            select(*_EVENT_COLUMNS)
            .where(_t.c.state == "pending", self.lease_free(now), _t.c.received_at >= now - max_age)
            .where(true() if after is None else tuple_(_t.c.received_at, _t.c.key) > after)
            .order_by(_t.c.received_at, _t.c.key)
            .limit(limit)
        )
        return await self._run(lambda conn: [_event(row) for row in conn.execute(stmt)])

    async def expire_events(self, now: datetime, max_age: timedelta) -> list[str]:
        """Mark pending events older than max_age expired; returns their keys.

        An event whose lease is still live is left to its owner: it is expired on a later
        sweep if the owner dies, and the owner's finish_event still counts otherwise.
        """
        stmt = (
            update(_t)
            .where(_t.c.state == "pending", _t.c.received_at < now - max_age, self.lease_free(now))
            .values(state="expired", finished_at=now, owner=None, lease_until=None)
            .returning(_t.c.key)
        )
        return await self._run(lambda conn: sorted(row.key for row in conn.execute(stmt)))

    async def prune_events(self, finished_before: datetime) -> int:
        """Delete finished (done/expired/failed) events and their steps; the audit stays."""
        finished = and_(
            _t.c.state.in_(("done", "expired", "failed")), _t.c.finished_at < finished_before
        )
        steps = delete(inbox_steps).where(
            inbox_steps.c.event_key.in_(select(_t.c.key).where(finished))
        )

        def prune(conn: Connection) -> int:
            conn.execute(steps)
            return conn.execute(delete(_t).where(finished)).rowcount

        return await self._run(prune)
