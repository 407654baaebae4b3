"""The frozen records the store hands out and takes in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

FINISHED_EVENT_STATES = frozenset({"done", "failed"})
# "unchanged": a change that found the setting already as asked (nothing was written).
AUDIT_OUTCOMES = frozenset({"pending", "applied", "unchanged", "refused", "failed"})
AUDIT_SOURCES = frozenset({"command", "card"})
AUDIT_TARGETS = frozenset({"organization", "location"})


@dataclass(frozen=True)
class InboxEvent:
    key: str
    resource: str
    event: str
    body: dict[str, Any]
    received_at: datetime
    attempts: int
    state: str  # "pending" | "done" | "expired" | "failed"

    @classmethod
    def received(cls, key: str, resource: str, event: str, body: dict[str, Any],
                 received_at: datetime) -> InboxEvent:
        """As it stands once recorded under a runner's lease: pending, first attempt."""
        return cls(key, resource, event, body, received_at, attempts=1, state="pending")


@dataclass(frozen=True)
class AuditRecord:
    id: int | None
    at: datetime
    event_key: str | None
    org_id: str
    person_id: str
    person_email: str | None
    room_id: str | None
    source: str  # "command" | "card"
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    outcome: str  # "pending" | "applied" | "unchanged" | "refused" | "failed"
    reason: str | None
    tracking_id: str | None
    target_type: str = "organization"  # "organization" | "location"
    target_id: str | None = None  # the location's id; the org's for an organization row
    target_name: str | None = None  # the location's name when the change was made
    acted_with: str | None = None  # "service-app" or "admin": whose token read and wrote
    repeats: int | None = None  # the same refusal again within its window (refused presses)


@dataclass(frozen=True)
class CardToken:
    token: str
    org_id: str
    kind: str
    person_id: str | None  # the bound person, or None: any authorized person
    room_id: str
    message_id: str | None
    payload: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by: str | None
    used_event: str | None = None  # the inbox event that used it: that event may resume
