"""Read, modify, write a setting -- the organization's or a location's: serialized per target,
audited with the target, exactly once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal

from bot.aio import complete_despite_cancel
from bot.compliance.targets import S, SettingTarget, organization_target
from bot.errors import WebexError
from bot.metrics import Metrics
from bot.models import NotificationSetting
from bot.request import Request
from bot.store import AuditRecord, Store
from bot.webex.auth import AdminAuth
from bot.webex.telephony import TelephonyClient

log = logging.getLogger(__name__)
Modify = Callable[[NotificationSetting], NotificationSetting]
Acting = Callable[[str], AdminAuth]  # person id → that person's own token (personal sign-in)


@dataclass(frozen=True)
class ChangeResult(Generic[S]):
    outcome: Literal["applied", "unchanged", "stale", "superseded"]
    before: S
    after: S


class ChangeService:
    """The only code that writes the setting."""

    def __init__(self, store: Store, telephony: TelephonyClient, metrics: Metrics, *,
                 clock: Callable[[], datetime], timeout: float,
                 acting: Acting | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        self._on_change = on_change  # told after each change that was made (the watch)
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self._timeout = timeout
        self._telephony = telephony
        self._acting = acting
        self.organization = organization_target(telephony)

    def _acted_with(self) -> str:
        """Whose token reads and writes, for the audit trail."""
        return "admin" if self._acting else "service-app"

    def _organization(self, ctx: Request) -> SettingTarget[NotificationSetting]:
        """The organization's setting, as the Service App or (CHANGES_WITH=admin) the person."""
        if self._acting is None:
            return self.organization
        return organization_target(self._telephony.acting_as(self._acting(ctx.person_id)))

    async def apply(
        self,
        ctx: Request,
        action: str,
        modify: Modify,
        *,
        expected: NotificationSetting | None = None,
    ) -> ChangeResult[NotificationSetting]:
        """`change` of the organization's own setting."""
        return await self.change(ctx, action, modify, expected=expected,
                                 target=self._organization(ctx))

    async def change(
        self,
        ctx: Request,
        action: str,
        modify: Callable[[S], S],
        *,
        target: SettingTarget[S],
        expected: S | None = None,
    ) -> ChangeResult[S]:
        """Apply `modify` to the target's current setting; refuse as stale if it is no longer
        `expected`. Changes of one target are serialized (across replicas on PostgreSQL);
        different targets do not wait for each other.

        The audit row is written (pending, with the planned result) before the PUT and keyed by
        the event, so a resumed event finishes the same change instead of making another.
        """
        org = ctx.org_id

        def parsed(data: dict[str, object] | None) -> S | None:
            return target.parse(data) if data else None

        async with self._store.org_lock(org, target.lock):
            current = await self._read(ctx, action, org, target)
            # A resumed event may find its own write already there: that is not a stale form.
            if expected is not None and current not in (expected, modify(expected)):
                await self.refused(ctx, action, "the setting changed since the card was shown",
                                   before=current, target=target)
                return ChangeResult("stale", current, current)
            record = await self._store.begin_change(
                AuditRecord(
                    id=None, at=self._clock(), event_key=ctx.event_key, org_id=org,
                    person_id=ctx.person_id, person_email=ctx.person_email, room_id=ctx.room_id,
                    source=ctx.source, action=action, before=current.to_webex(),
                    after=modify(current).to_webex(), outcome="pending", reason=None,
                    tracking_id=None, acted_with=self._acted_with(), **target.audit_fields,
                )
            )
            before = parsed(record.before) or current
            after = parsed(record.after) or modify(before)
            if record.outcome in ("applied", "unchanged"):  # finished before a restart
                return ChangeResult("applied" if before != after else "unchanged", before, after)
            if record.outcome != "pending":  # failed or refused before a restart: say so again
                raise WebexError(record.reason or "This change did not go through.",
                                 tracking_id=record.tracking_id)
            if before != after and current not in (before, after):
                # A restart resumed this change after other changes were made: whether or not
                # its PUT landed before the crash, writing it now would undo a newer change.
                await self._store.finish_change(
                    record.id or 0, "failed",
                    reason="superseded: the setting was changed by someone else while this "
                           "change was interrupted by a restart")
                self._metrics.change(action, "superseded")
                return ChangeResult("superseded", before, current)
            # A change that changes nothing sends no PUT, and the audit trail says so.
            outcome: Literal["applied", "unchanged"] = "applied" if before != after else "unchanged"
            if current == before != after:
                await complete_despite_cancel(
                    self._write(ctx, action, record.id or 0, after, target),
                    self._timeout * 2)
            # Settling the audit row need not delay the reply; the event is not done until it is
            # settled, and a crash before that is resumed as a pending row already applied.
            ctx.outbox.defer(self._store.finish_change(
                record.id or 0, outcome, after=after.to_webex()))
        if outcome == "applied" and self._on_change is not None:
            self._on_change()
        log.info("event %s: %s %s for %s by %s", ctx.event_key, action, outcome, target.kind,
                 ctx.person_id)
        self._metrics.change(action, outcome)
        return ChangeResult(outcome, before, after)

    async def _write(self, ctx: Request, action: str, audit_id: int, after: S,
                     target: SettingTarget[S]) -> None:
        """The PUT; a failure is settled in the audit trail before it is raised."""
        try:
            await target.write(ctx.org_id, after)
        except WebexError as error:
            await self._store.finish_change(
                audit_id, "failed", reason=error.user_message, tracking_id=error.tracking_id)
            self._metrics.change(action, "failed")
            raise

    async def refused(
        self, ctx: Request, action: str, reason: str,
        *, before: NotificationSetting | S | None = None, tracking_id: str | None = None,
        target: SettingTarget[S] | None = None, location_name: str | None = None,
    ) -> AuditRecord:
        """Audit a change that was not made, and why: of the organization unless `target`, or
        of the location the person named (`location_name`, refused before it was looked up;
        "" when `at` was followed by no name: a location's row that names none, never the
        organization's, which would claim an attempt on it). Returns its audit row."""
        where = target.audit_fields if target is not None else {}
        if target is None and location_name is not None:
            where = {"target_type": "location", "target_name": location_name[:255] or None}
        row = await self._settle_once(ctx, AuditRecord(
            id=None, at=self._clock(), event_key=ctx.event_key, org_id=ctx.org_id,
            person_id=ctx.person_id, person_email=ctx.person_email, room_id=ctx.room_id,
            source=ctx.source, action=action, before=before.to_webex() if before else None,
            after=None, outcome="refused", reason=reason, tracking_id=tracking_id, **where,
        ))
        log.info("event %s: %s refused: %s", ctx.event_key, action, reason)
        self._metrics.change(action, "refused")
        ctx.outbox.refused = True  # and so is the command that asked for it
        return row

    async def _read(self, ctx: Request, action: str, org: str, target: SettingTarget[S]) -> S:
        try:
            return await target.read(org)
        except WebexError as error:
            await self._settle_once(ctx, AuditRecord(
                id=None, at=self._clock(), event_key=ctx.event_key, org_id=org,
                person_id=ctx.person_id, person_email=ctx.person_email, room_id=ctx.room_id,
                source=ctx.source, action=action, before=None, after=None,
                outcome="failed", reason=error.user_message, tracking_id=error.tracking_id,
                acted_with=self._acted_with(), **target.audit_fields,
            ))
            self._metrics.change(action, "failed")
            raise

    async def _settle_once(self, ctx: Request, record: AuditRecord) -> AuditRecord:
        """Audit a refusal or failure; if a resumed event's earlier attempt left its row
        pending, that row is the one settled (an event has one audit row)."""
        row = await self._store.add_audit(record)
        if row.outcome == "pending" and row.id is not None:
            await self._store.finish_change(
                row.id, record.outcome, reason=record.reason, tracking_id=record.tracking_id)
        return row
