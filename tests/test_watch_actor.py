"""Who made a change, as a table: this bot's audit rows by field, then Webex's admin audit log."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.compliance.watch_actor import OUTSIDE, from_audit_log, split_by_actor
from bot.compliance.watch_diff import Change, FieldChange
from bot.store import AuditRecord
from bot.webex.admin_audit import AuditEvent

AT = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
ON_KEY = "emergencyCallNotificationEnabled"
ORG = "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi8xMjM0"  # ciscospark://us/ORGANIZATION/1234
OFF = {"emergencyCallNotificationEnabled": False, "allowEmailNotificationAllLocationEnabled": False,
       "emailAddress": "a@acme.example"}  # fmt: skip


def row(before: dict[str, Any], after: dict[str, Any], who: str = "alice@acme.example",
        **target: Any) -> AuditRecord:
    return AuditRecord(id=1, at=AT, event_key="e", org_id=ORG, person_id="p", person_email=who,
                       room_id="r", source="command", action="enable", before=before, after=after,
                       outcome="applied", reason=None, tracking_id=None, **target)  # fmt: skip


def org_change(*fields: FieldChange) -> Change:
    return Change("organization", ORG, "Acme", fields=fields)


ENABLED = FieldChange("enabled", False, True)
EMAIL = FieldChange("email", "a@acme.example", "b@acme.example")


def test_a_change_the_bot_made_names_its_admin() -> None:
    [change] = split_by_actor(org_change(ENABLED), [row(OFF, {**OFF, ON_KEY: True})])
    assert change.actor["kind"] == "bot" and change.actor["email"] == "alice@acme.example"


def test_fields_changed_by_the_bot_and_by_someone_else_are_two_changes() -> None:
    bot_row = row(OFF, {**OFF, ON_KEY: True})
    parts = split_by_actor(org_change(ENABLED, EMAIL), [bot_row])
    assert [(p.actor["kind"], [f.name for f in p.fields]) for p in parts] == [
        ("bot", ["enabled"]), ("outside", ["email"])]


def test_a_newer_row_that_left_another_value_is_not_the_bot_s() -> None:
    later = row({**OFF, ON_KEY: True}, OFF)  # newest first: turned off again by the bot
    earlier = row(OFF, {**OFF, ON_KEY: True})
    [change] = split_by_actor(org_change(ENABLED), [later, earlier])
    assert change.actor == OUTSIDE


def test_a_location_row_does_not_explain_an_organization_change() -> None:
    loc_row = row({"emergencyCallNotificationEnabled": False, "emailAddress": ""},
                  {"emergencyCallNotificationEnabled": True, "emailAddress": "x@acme.example"},
                  target_type="location", target_id="L1", target_name="Lab")
    [change] = split_by_actor(org_change(ENABLED), [loc_row])
    assert change.actor == OUTSIDE


def event(actor: str, *, target: str = base64.b64encode(b"1234").decode().rstrip("="),
          text: str = "Emergency call notification settings changed") -> AuditEvent:
    return AuditEvent.model_validate({
        "id": actor, "created": "2026-12-01T20:00:05.000Z",
        "data": {"actorName": actor.title(), "actorEmail": f"{actor}@acme.example",
                 "targetType": "TargetResourceType.ORG", "targetId": target,
                 "eventDescription": text}})  # fmt: skip


@pytest.mark.parametrize(
    ("events", "named"),
    [
        ([event("uma")], "uma@acme.example"),
        ([event("uma"), event("uma")], "uma@acme.example"),
        ([event("uma"), event("alice")], None),  # two administrators: not sure which
        ([event("uma", text="An Admin logged in")], None),
        ([event("uma", target="c29tZXRoaW5nIGVsc2U")], None),
        ([], None),
        (None, None),  # the log could not be read
    ],
)
def test_the_admin_audit_log_names_one_administrator_or_nobody(
    events: list[AuditEvent] | None, named: str | None
) -> None:
    change = from_audit_log(org_change(EMAIL), events)
    assert change.actor.get("email") == named
    assert (change.actor == OUTSIDE) is (named is None)
