"""Who made a change the watch found: this bot's audit trail first, then Webex's admin audit log.

A field counts as changed through this bot when the newest audit row of this bot in the interval
that changed that field on the same target (applied, or pending: its PUT may have landed a
moment before the check read Webex) left it at the value the watch sees now. Fields changed by
different hands in one interval become separate changes. For the rest, Webex's admin audit log
is read (when the admin token may read it) for events about the same target that mention
emergency call notifications; exactly one administrator there names the actor, anything else
does not: the card then says "outside this bot (Control Hub or the API)".
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from bot.compliance.watch_diff import Change, FieldChange
from bot.errors import WebexError
from bot.models import NotificationSetting
from bot.store import AuditRecord
from bot.webex.admin_audit import AdminAuditClient, AuditEvent
from bot.webex.locations import LocationSetting

log = logging.getLogger(__name__)
SLACK = timedelta(minutes=2)  # clocks and the moment between a PUT and its audit row
OUTSIDE: dict[str, Any] = {"kind": "outside"}
IMPACT = ("enabled", "all_locations", "email")  # which group keeps the locations' flips


def _values(record: AuditRecord, target_type: str) -> tuple[Any, Any] | None:
    model = NotificationSetting if target_type == "organization" else LocationSetting
    try:
        return model.model_validate(record.before), model.model_validate(record.after)
    except ValidationError:
        return None


def _target_of(record: AuditRecord) -> tuple[str, str]:
    """(kind, id) of a row's target; an organization row's id is the organization's."""
    return record.target_type, record.target_id or record.org_id


def _by_bot(change: Change, records: Sequence[AuditRecord]) -> dict[int, list[FieldChange]]:
    """The change's fields this bot made, by audit row: for each field, the newest row of the
    interval that changed it, when it left the value the watch sees now."""
    found: dict[int, list[FieldChange]] = {}
    for f in change.fields:
        for index, record in enumerate(records):  # newest first
            values = (_values(record, change.target_type)
                      if _target_of(record) == (change.target_type, change.target_id) else None)
            if values is None or getattr(values[0], f.name) == getattr(values[1], f.name):
                continue
            if getattr(values[1], f.name) == f.after:
                found.setdefault(index, []).append(f)
            break
    return found


def _bot_actor(record: AuditRecord) -> dict[str, Any]:
    return {"kind": "bot", "person_id": record.person_id, "email": record.person_email,
            "source": record.source, "at": record.at.isoformat()}  # fmt: skip


def split_by_actor(change: Change, records: Sequence[AuditRecord]) -> list[Change]:
    """The change as one change per hand that made it (this bot's admins, then the rest)."""
    if change.kind != "changed":
        return [change]
    groups: list[tuple[dict[str, Any], list[FieldChange]]] = []
    mine = _by_bot(change, records)
    for index, fields in sorted(mine.items()):
        groups.append((_bot_actor(records[index]), fields))
    claimed = {f.name for _, fields in groups for f in fields}
    rest = [f for f in change.fields if f.name not in claimed]
    if rest:
        groups.append((OUTSIDE, rest))
    keeper = min(range(len(groups)), key=lambda i: min(IMPACT.index(f.name) for f in groups[i][1]))
    return [
        dataclasses.replace(change, fields=tuple(fields), actor=actor,
                            locations=change.locations if i == keeper else ())
        for i, (actor, fields) in enumerate(groups)
    ]  # fmt: skip


def _id_forms(webex_id: str) -> set[str]:
    """A Webex id as itself, its bare uuid, and base64 of that (the audit log's form)."""
    forms = {webex_id}
    try:
        raw = base64.urlsafe_b64decode(webex_id + "=" * (-len(webex_id) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return forms
    if raw.startswith("ciscospark://"):
        local = raw.rsplit("/", 1)[-1]
        forms |= {local, base64.b64encode(local.encode()).decode().rstrip("=")}
    return forms


def _about(event: AuditEvent, change: Change) -> bool:
    data = event.data
    words = f"{data.description or ''} {data.action_text or ''}".casefold()
    if "emergency" not in words:
        return False
    same = (data.target_id or "").rstrip("=") in _id_forms(change.target_id)
    return same or (change.target_type == "location" and data.target_name == change.target_name)


def from_audit_log(change: Change, events: Sequence[AuditEvent] | None) -> Change:
    """An outside change with its actor named when exactly one administrator's events fit."""
    if change.actor != OUTSIDE or change.kind != "changed" or not events:
        return change
    fitting = [e for e in events if _about(e, change)]
    actors = {(e.data.actor_email or e.data.actor_name or "") for e in fitting}
    if len(actors) != 1 or not next(iter(actors)):
        return change
    latest = max(fitting, key=lambda e: e.created)
    actor = {"kind": "audit_log", "name": latest.data.actor_name, "email": latest.data.actor_email,
             "at": latest.created.isoformat()}  # fmt: skip
    return dataclasses.replace(change, actor=actor)


async def audit_events(
    client: AdminAuditClient | None, org_id: str, since: datetime, now: datetime
) -> list[AuditEvent] | None:
    """The admin audit log for the interval, or None when it cannot be read (never a reason
    to fail the check)."""
    if client is None:
        return None
    try:
        return await client.events(org_id, since - SLACK, now + SLACK)
    except WebexError as error:
        log.info("admin audit log not read (tracking id %s): %s", error.tracking_id,
                 error.user_message)  # fmt: skip
        return None
