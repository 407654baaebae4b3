"""People, roles, organizations and the org-level notification setting."""

from __future__ import annotations

from bot.emulator.calls import Call, Reply
from bot.emulator.errors import ApiError
from bot.emulator.seed import ROLE_NAMES, role_id

SETTING_FIELDS = (
    "emergencyCallNotificationEnabled",
    "allowEmailNotificationAllLocationEnabled",
    "emailAddress",
)
NO_ADMIN = "Not authorized: an administrator token with the required scope is needed."


def people_me(call: Call) -> Reply:
    """GET /people/me."""
    return Reply(200, call.state.person_json(call.who, call.who))


def people_get(call: Call) -> Reply:
    """GET /people/{personId}: roles only for an admin of that person's org."""
    person = call.state.people.get(call.params["personId"])
    if person is None:
        raise ApiError(404, "Could not find a person with the provided ID.")
    return Reply(200, call.state.person_json(person, call.who))


def _require_admin(call: Call, org_id: str, level: str) -> None:
    """Raise 403 unless the caller may read (or write) the org's admin data."""
    granted = call.state.admin_level(call.who, org_id)
    if granted is None or (level == "write" and granted != "write"):
        raise ApiError(403, NO_ADMIN)


def roles_list(call: Call) -> Reply:
    """GET /roles: admin tokens only."""
    _require_admin(call, call.who.org_id, "read")
    return Reply(200, {"items": [{"id": role_id(k), "name": n} for k, n in ROLE_NAMES.items()]})


def roles_get(call: Call) -> Reply:
    """GET /roles/{roleId}."""
    _require_admin(call, call.who.org_id, "read")
    names = {role_id(k): n for k, n in ROLE_NAMES.items()}
    if call.params["roleId"] not in names:
        raise ApiError(404, "Could not find a role with the provided ID.")
    return Reply(200, {"id": call.params["roleId"], "name": names[call.params["roleId"]]})


def organizations_get(call: Call) -> Reply:
    """GET /organizations/{orgId}: an admin of that org."""
    org_id = call.params["orgId"]
    if call.state.admin_level(call.who, call.who.org_id) is None:
        raise ApiError(403, NO_ADMIN)
    if org_id != call.who.org_id:
        raise ApiError(404 if org_id not in call.state.orgs else 403, NO_ADMIN)
    return Reply(200, dict(call.state.orgs[org_id]))


def _org(call: Call, level: str) -> str:
    """Return the org a telephony call is about, after checking the caller may touch it."""
    org_id = call.query.get("orgId") or call.who.org_id
    if org_id not in call.state.orgs:
        raise ApiError(404, "Organization not found.")
    if call.who.kind == "bot":
        raise ApiError(403, "Bots are not authorized to access telephony configuration.")
    _require_admin(call, org_id, level)
    return org_id


def ecn_get(call: Call) -> Reply:
    """GET /telephony/config/emergencyCallNotification."""
    org_id = _org(call, "read")
    setting = call.state.settings[org_id]
    return Reply(200, {k: setting[k] for k in SETTING_FIELDS})


def ecn_put(call: Call) -> Reply:
    """PUT /telephony/config/emergencyCallNotification: 204, empty body."""
    org_id = _org(call, "write")
    body = call.body
    if body.get("emergencyCallNotificationEnabled") and not body.get(
        "emailAddress", call.state.settings[org_id]["emailAddress"]
    ):
        raise ApiError(400, "emailAddress is required when emergency call notification is on.")
    call.state.settings[org_id].update({k: body[k] for k in SETTING_FIELDS if k in body})
    return Reply(204)


