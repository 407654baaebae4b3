"""The watch's durable state: watching spaces, the last state seen, changes and their posts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from ._base import StoreBase
from .schema import watch_changes, watch_posts, watch_spaces, watch_state

POST_STATES = frozenset({"pending", "posted", "gone", "failed"})


@dataclass(frozen=True)
class WatchState:
    """What the watch of one organization last saw, and how its checks have gone."""

    org_id: str
    version: int = 0  # 0: never saved
    snapshot: dict[str, Any] | None = None  # None: no good check yet (the next is a baseline)
    seen_at: datetime | None = None
    checked_at: datetime | None = None
    outcome: str | None = None  # "ok" | "failed"
    failures: int = 0  # failed checks in a row
    failing_notified: bool = False  # the "cannot check" notice is out
    detail: str | None = None


@dataclass(frozen=True)
class WatchPost:
    """One change still to be posted to one watching space."""

    change_id: int
    room_id: str
    kind: str
    body: dict[str, Any]
    detected_at: datetime
    attempts: int


def _state(row: Any) -> WatchState:
    return WatchState(
        org_id=row.org_id, version=row.version, snapshot=row.snapshot, seen_at=row.seen_at,
        checked_at=row.checked_at, outcome=row.outcome, failures=row.failures,
        failing_notified=bool(row.failing_notified), detail=row.detail,
    )  # fmt: skip


class WatchMixin(StoreBase):
    async def watch_space(self, org_id: str, room_id: str, person_id: str, now: datetime) -> bool:
        """Add a watching space; False when it was watching already."""
        stmt = (
            self._insert(watch_spaces)
            .values(org_id=org_id, room_id=room_id, person_id=person_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["org_id", "room_id"])
        )
        return await self._run(lambda conn: conn.execute(stmt).rowcount == 1)

    async def unwatch_space(self, org_id: str, room_id: str, now: datetime) -> bool:
        """Remove a watching space and drop what was still to be posted there; False when it
        was not watching. When the last space stops, the last state seen is forgotten: a
        later `watch` starts from what Webex holds then, not from a state weeks old."""

        def work(conn: Connection) -> bool:
            removed = conn.execute(
                delete(watch_spaces).where(
                    watch_spaces.c.org_id == org_id, watch_spaces.c.room_id == room_id
                )
            ).rowcount
            conn.execute(
                update(watch_posts)
                .where(watch_posts.c.room_id == room_id, watch_posts.c.org_id == org_id,
                       watch_posts.c.state == "pending")
                .values(state="gone", updated_at=now)
            )  # fmt: skip
            left = conn.execute(
                select(func.count()).where(watch_spaces.c.org_id == org_id)
            ).scalar()
            if not left:
                conn.execute(
                    update(watch_state)
                    .where(watch_state.c.org_id == org_id)
                    .values(snapshot=None, seen_at=None, version=watch_state.c.version + 1)
                )
            return bool(removed)

        return await self._run(work)

    async def watching_spaces(self, org_id: str) -> list[str]:
        """The rooms watching an organization, oldest first."""
        stmt = (
            select(watch_spaces.c.room_id)
            .where(watch_spaces.c.org_id == org_id)
            .order_by(watch_spaces.c.created_at, watch_spaces.c.room_id)
        )
        return await self._run(lambda conn: [str(r) for r in conn.execute(stmt).scalars()])

    async def watch_state(self, org_id: str) -> WatchState:
        """The organization's watch state (empty, version 0, before its first save)."""
        stmt = select(watch_state).where(watch_state.c.org_id == org_id)
        row = await self._run(lambda conn: conn.execute(stmt).first())
        return WatchState(org_id) if row is None else _state(row)

    async def save_watch(
        self,
        previous: WatchState,
        new: WatchState,
        changes: list[tuple[str, dict[str, Any]]],
        now: datetime,
    ) -> list[int] | None:
        """Save a check's result and its changes, each with one pending post per watching space,
        in one transaction; None (nothing saved) when the state moved on since `previous`."""
        values = dataclasses.asdict(new)
        values.update(version=previous.version + 1, failing_notified=int(new.failing_notified))

        def work(conn: Connection) -> list[int] | None:
            if previous.version == 0:
                taken = conn.execute(
                    self._insert(watch_state).values(values)
                    .on_conflict_do_nothing(index_elements=["org_id"])
                ).rowcount  # fmt: skip
            else:
                taken = conn.execute(
                    update(watch_state)
                    .where(watch_state.c.org_id == new.org_id,
                           watch_state.c.version == previous.version)
                    .values(values)
                ).rowcount  # fmt: skip
            if taken != 1:
                return None
            rooms = conn.execute(
                select(watch_spaces.c.room_id).where(watch_spaces.c.org_id == new.org_id)
            ).scalars().all()  # fmt: skip
            ids: list[int] = []
            for kind, body in changes:
                change_id = conn.execute(
                    insert(watch_changes)
                    .values(org_id=new.org_id, detected_at=now, kind=kind, body=body)
                    .returning(watch_changes.c.id)
                ).scalar_one()  # fmt: skip
                ids.append(int(change_id))
                if rooms:
                    conn.execute(insert(watch_posts), [
                        {"change_id": change_id, "room_id": room, "org_id": new.org_id,
                         "state": "pending", "attempts": 0, "updated_at": now}
                        for room in rooms
                    ])  # fmt: skip
            return ids

        return await self._run(work)

    async def pending_watch_posts(self, org_id: str) -> list[WatchPost]:
        """Posts not yet made, oldest change first."""
        c, p = watch_changes, watch_posts
        stmt = (
            select(p.c.change_id, p.c.room_id, c.c.kind, c.c.body, c.c.detected_at, p.c.attempts)
            .join(c, c.c.id == p.c.change_id)
            .where(p.c.org_id == org_id, p.c.state == "pending")
            .order_by(p.c.change_id, p.c.room_id)
        )
        rows = await self._run(lambda conn: conn.execute(stmt).all())
        return [WatchPost(*row) for row in rows]

    async def settle_watch_post(
        self,
        change_id: int,
        room_id: str,
        state: str,
        now: datetime,
        *,
        message_id: str | None = None,
    ) -> bool:
        """Mark a pending post posted, gone (the space left) or failed; False if it was not
        pending. State "pending" counts one more failed attempt and leaves it pending."""
        if state not in POST_STATES:
            raise ValueError(f"unknown watch post state {state!r}")
        p = watch_posts
        values: dict[str, Any] = {"state": state, "updated_at": now, "message_id": message_id}
        if state == "pending":
            values = {"attempts": p.c.attempts + 1, "updated_at": now}
        stmt = (
            update(p)
            .where(p.c.change_id == change_id, p.c.room_id == room_id, p.c.state == "pending")
            .values(values)
        )
        return await self._run(lambda conn: conn.execute(stmt).rowcount == 1)
