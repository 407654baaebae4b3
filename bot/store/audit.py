"""The audit trail: every change attempt and refusal, kept forever."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, or_, select, update

from ._base import StoreBase
from .records import AUDIT_OUTCOMES, AUDIT_SOURCES, AUDIT_TARGETS, AuditRecord
from .schema import audit_log

_t = audit_log


def _record(row: Row[Any]) -> AuditRecord:
    fields = row._mapping
    values: dict[str, Any] = {f.name: fields.get(f.name) for f in dataclasses.fields(AuditRecord)}
    return AuditRecord(**values)


# What an insert returns: a new row has no repeats yet, and so it works on any schema version.
_INSERTED = tuple(c for c in _t.c if c.name != "repeats")


def _values(rec: AuditRecord) -> dict[str, Any]:
    if rec.source not in AUDIT_SOURCES:
        raise ValueError(f"audit source must be command or card, not {rec.source!r}")
    if rec.outcome not in AUDIT_OUTCOMES:
        raise ValueError(f"unknown audit outcome {rec.outcome!r}")
    if rec.target_type not in AUDIT_TARGETS:
        raise ValueError(f"audit target must be organization or location: {rec.target_type!r}")
    if rec.target_type == "location" and not (rec.target_id or rec.target_name) \
            and rec.outcome != "refused":  # refused: `at` named no location
        raise ValueError("a location's audit row needs the location's id or name")
    values = dataclasses.asdict(rec)
    del values["id"]
    if values["repeats"] is None:  # a new row has none: left out, it works on any version
        del values["repeats"]
    if rec.target_type == "organization" and rec.target_id is None:
        values["target_id"] = rec.org_id
    if values["acted_with"] is None:  # a row that used no token works on any version
        del values["acted_with"]
    return values


class AuditMixin(StoreBase):
    async def _insert_audit(self, values: dict[str, Any], *, urgent: bool = False
                            ) -> AuditRecord:
        stmt = self._prepared("insert_audit", lambda: (
            self._insert(_t).on_conflict_do_nothing(index_elements=["event_key"])
            .returning(*_INSERTED)))
        existing = self._prepared("audit_of_event", lambda: (
            select(_t).where(_t.c.event_key == bindparam("b_event"))))

        def insert(conn: Connection) -> Row[Any]:
            # Rows without an event key never conflict (NULLs are distinct in the index).
            row = conn.execute(stmt, values).first()
            # None: this event already has its row; resume with it.
            if row is None:
                row = conn.execute(existing, {"b_event": values["event_key"]}).one()
            return row

        return _record(await self._run(insert, urgent=urgent))

    async def begin_change(self, rec: AuditRecord) -> AuditRecord:
        """Insert a pending row; if the event already has one (resume), return that instead.
        An admin waits on it (the PUT follows it): it goes ahead of background writes."""
        return await self._insert_audit({**_values(rec), "outcome": "pending"}, urgent=True)

    async def finish_change(
        self,
        audit_id: int,
        outcome: str,
        *,
        after: dict[str, Any] | None = None,
        reason: str | None = None,
        tracking_id: str | None = None,
    ) -> bool:
        """Settle a pending row; False if it was already settled (a settled row never changes)."""
        if outcome not in AUDIT_OUTCOMES - {"pending"}:
            raise ValueError(
                f"finish_change outcome must be applied/unchanged/refused/failed: {outcome!r}")
        values: dict[str, Any] = {"outcome": outcome}
        for name, value in (("after", after), ("reason", reason), ("tracking_id", tracking_id)):
            if value is not None:
                values[name] = value
        stmt = update(_t).where(_t.c.id == audit_id, _t.c.outcome == "pending").values(**values)
        return await self._run(lambda conn: conn.execute(stmt).rowcount == 1)

    async def count_audit_repeats(self, audit_id: int, repeats: int) -> None:
        """Say on a refusal's row how many times it was repeated within its window."""
        stmt = update(_t).where(
            _t.c.id == audit_id, _t.c.outcome == "refused",
            or_(_t.c.repeats.is_(None), _t.c.repeats < repeats),  # counts arrive out of order
        ).values(repeats=repeats)
        await self._run(lambda conn: conn.execute(stmt))

    async def add_audit(self, rec: AuditRecord) -> AuditRecord:
        """Insert a one-shot row (a refusal); an existing row for the event_key wins."""
        return await self._insert_audit(_values(rec))

    async def list_audit(
        self,
        org_id: str | None = None,
        *,
        limit: int | None = 10,
        since: datetime | None = None,
        newest_first: bool = True,
        target_id: str | None = None,
    ) -> list[AuditRecord]:
        """Audit rows, optionally for one organization, one target and from `since` on."""
        stmt = select(_t)
        if org_id is not None:
            stmt = stmt.where(_t.c.org_id == org_id)
        if target_id is not None:
            stmt = stmt.where(_t.c.target_id == target_id)
        if since is not None:
            stmt = stmt.where(_t.c.at >= since)
        order = (_t.c.at.desc(), _t.c.id.desc()) if newest_first else (_t.c.at, _t.c.id)
        stmt = stmt.order_by(*order)
        if limit is not None:
            stmt = stmt.limit(limit)
        return await self._run(lambda conn: [_record(row) for row in conn.execute(stmt)])

    async def count_audit(self, org_id: str, *, target_id: str | None = None) -> int:
        """How many audit rows one organization (or one of its targets) has."""
        stmt = select(func.count()).select_from(_t).where(_t.c.org_id == org_id)
        if target_id is not None:
            stmt = stmt.where(_t.c.target_id == target_id)
        return await self._run(lambda conn: int(conn.execute(stmt).scalar() or 0))
