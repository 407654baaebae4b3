"""The admin audit log: events recorded for Control Hub changes, and GET /v1/adminAudit/*."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.emulator.calls import Call, Reply
from bot.emulator.errors import ApiError
from bot.emulator.ids import iso
from bot.emulator.seed import role_id
from bot.emulator.state import Identity, State

MAX_PAGE = 200
DEFAULT_PAGE = 100
MAX_SPAN = timedelta(days=366)  # "a maximum of one year of audit events per request"
# Webex's text documents the endpoint, not the list of categories, nor which category a
# telephony change lands in: these names are the emulator's own, in Webex's example form.
CATEGORIES = (
    "CALLING",
    "COMPLIANCE",
    "DEVICES",
    "LOCATIONS",
    "LOGINS",
    "LOGOUT",
    "USERS",
)
SETTINGS_CATEGORY = "CALLING"
NO_AUDIT = "Not authorized: a full administrator token with the audit:events_read scope is needed."
_ROLE_LABELS = {role_id("id_full_admin"): "Full_Admin", role_id("id_user_admin"): "User"}


def _short_id(webex_id: str) -> str:
    """Audit events carry ids as base64 of the bare uuid (Webex's example), not ciscospark://."""
    local = webex_id
    try:
        raw = base64.urlsafe_b64decode(webex_id + "=" * (-len(webex_id) % 4)).decode()
        local = raw.rsplit("/", 1)[-1] if raw.startswith("ciscospark://") else webex_id
    except (ValueError, UnicodeDecodeError):
        pass
    return base64.b64encode(local.encode()).decode().rstrip("=")


def record_event(
    state: State,
    actor: Identity,
    *,
    target_type: str,
    target_id: str,
    target_name: str,
    description: str,
    action_text: str,
) -> dict[str, Any]:
    """Append one event, as Webex records an administrator's change made in Control Hub."""
    org = state.orgs[actor.org_id]
    event = {
        "id": _short_id(str(uuid.uuid4())),
        "actorId": _short_id(actor.id),
        "actorOrgId": actor.org_id,
        "created": iso(),
        "data": {
            "actorName": actor.display_name,
            "actorEmail": actor.email,
            "actorOrgName": org["displayName"],
            "adminRoles": [_ROLE_LABELS[r] for r in actor.roles if r in _ROLE_LABELS],
            "eventCategory": f"EventCategory.{SETTINGS_CATEGORY}",
            "eventDescription": description,
            "actionText": action_text,
            "targetType": f"TargetResourceType.{target_type}",
            "targetId": _short_id(target_id),
            "targetName": target_name,
            "targetOrgId": actor.org_id,
            "targetOrgName": org["displayName"],
            "trackingId": f"ATLAS_{uuid.uuid4()}_0",
        },
    }
    state.admin_events.append(event)
    return event


def _may_read(state: State, who: Identity, org_id: str) -> bool:
    """Full administrators, and a service app authorized with the audit:events_read scope."""
    if who.org_id != org_id or who.id in state.audit_denied:
        return False
    return who.kind == "app" or role_id("id_full_admin") in who.roles


def _parse(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _moment(query: dict[str, str], name: str) -> datetime:
    text = query.get(name)
    if not text:
        raise ApiError(400, f"{name} is required.")
    try:
        return _parse(text)
    except ValueError:
        raise ApiError(400, f"{name} is not a date and time: {text!r}.") from None


def _number(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, f"{name} must be a number.") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}.")
    return value


def events_list(call: Call) -> Reply:
    """GET /adminAudit/events: newest first, `max` per page from `offset`.

    Webex documents `offset` for paging here and no `Link` header, so none is sent: a client
    asks for the next offset while pages come back full.
    """
    org_id = call.query.get("orgId", "")
    if not org_id:
        raise ApiError(400, "orgId is required.")
    start, end = _moment(call.query, "from"), _moment(call.query, "to")
    if end < start:
        raise ApiError(400, "to must not be before from.")
    if end - start > MAX_SPAN:
        raise ApiError(400, "At most one year of audit events can be returned per request.")
    page = _number(call.query, "max", DEFAULT_PAGE, 1, MAX_PAGE)
    offset = _number(call.query, "offset", 0, 0, 10**9)
    if not _may_read(call.state, call.who, org_id):
        raise ApiError(403, NO_AUDIT)
    wanted = {c.strip() for c in call.query.get("eventCategories", "").split(",") if c.strip()}
    actor = call.query.get("actorId")
    found = [
        e
        for e in reversed(call.state.admin_events)
        if e["data"]["targetOrgId"] == org_id
        and start < _parse(e["created"]) < end
        and (not wanted or e["data"]["eventCategory"].removeprefix("EventCategory.") in wanted)
        and (actor is None or e["actorId"] == actor)
    ]
    return Reply(200, {"items": found[offset : offset + page]})


def categories_list(call: Call) -> Reply:
    """GET /adminAudit/eventCategories."""
    if not _may_read(call.state, call.who, call.who.org_id):
        raise ApiError(403, NO_AUDIT)
    return Reply(200, {"eventCategories": list(CATEGORIES)})
