"""The admin audit log (GET /adminAudit/events): who changed what in Control Hub, as Webex says.

Webex documents `offset` and `max` (at most 200) for paging this list and no `Link` header, so
pages are asked for by offset until one comes back short. Whether emergency-notification
changes appear in the log, and under which category, is not documented: the caller treats what
is found here as a bonus, never as the only way to notice a change.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, ValidationError

from bot.errors import WebexError
from bot.models import _Webex
from bot.webex.answers import ADMIN_REJECTED
from bot.webex.auth import AdminAuth
from bot.webex.rest import WebexRest, as_admin
from bot.webex.retry import RetryPolicy

log = logging.getLogger(__name__)
PATH = "/adminAudit/events"
PAGE = 200  # Webex's documented maximum
MAX_PAGES = 10  # more than 2,000 admin events in one interval: attribute nothing


class AuditEventData(_Webex):
    actor_name: str | None = Field(default=None, alias="actorName")
    actor_email: str | None = Field(default=None, alias="actorEmail")
    target_type: str | None = Field(default=None, alias="targetType")
    target_id: str | None = Field(default=None, alias="targetId")
    target_name: str | None = Field(default=None, alias="targetName")
    description: str | None = Field(default=None, alias="eventDescription")
    action_text: str | None = Field(default=None, alias="actionText")


class AuditEvent(_Webex):
    """One admin audit event, the parts the watch reads."""

    id: str
    created: datetime
    actor_id: str | None = Field(default=None, alias="actorId")
    data: AuditEventData = Field(default_factory=AuditEventData)


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class AdminAuditClient:
    """Reads an organization's admin audit events in a time window."""

    def __init__(self, rest: WebexRest, auth: AdminAuth, *, policy: RetryPolicy) -> None:
        self._rest = rest
        self._auth = auth
        self._policy = policy

    async def events(self, org_id: str, start: datetime, end: datetime) -> list[AuditEvent] | None:
        """The events between `start` and `end`, as Webex orders them; None when the admin
        token may not read the log (403: no audit:events_read, or not a full administrator)
        or when the window holds more events than this reads. Other failures raise."""
        found: list[AuditEvent] = []
        params = {"orgId": org_id, "from": _iso(start), "to": _iso(end), "max": str(PAGE)}
        for page in range(MAX_PAGES):
            params["offset"] = str(page * PAGE)
            try:
                body = await as_admin(self._auth, lambda token: self._once(params, token),
                                      self._policy, self._rest.retried)  # fmt: skip
            except WebexError as error:
                if error.status == 403:
                    log.info("the admin token may not read the admin audit log (tracking id %s)",
                             error.tracking_id)  # fmt: skip
                    return None
                raise
            items = _items(body)
            found.extend(items)
            if len(items) < PAGE:
                return found
        log.info("more than %d admin audit events in the window; none used", PAGE * MAX_PAGES)
        return None

    async def _once(self, params: dict[str, str], token: str) -> Any:
        return await self._rest.request("GET", PATH, token, endpoint=f"GET {PATH}",
                                        params=dict(params), rejected=ADMIN_REJECTED)  # fmt: skip


def _items(body: Any) -> list[AuditEvent]:
    raw = body.get("items") if isinstance(body, dict) else None
    if not isinstance(raw, list):
        raise WebexError("Webex answered with an admin audit log this bot cannot read.",
                         endpoint=f"GET {PATH}")  # fmt: skip
    events = []
    for item in raw:
        try:
            events.append(AuditEvent.model_validate(item))
        except ValidationError:
            log.info("an admin audit event this bot cannot read was left out")
    return events
