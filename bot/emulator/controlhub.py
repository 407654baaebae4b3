"""The Control Hub side: an administrator changes a setting directly, and the audit log says so."""

from __future__ import annotations

from typing import Any

from bot.emulator.admin import SETTING_FIELDS
from bot.emulator.admin_audit import record_event
from bot.emulator.errors import ApiError
from bot.emulator.locations import LOCATION_FIELDS, is_location_admin
from bot.emulator.state import Identity, State

DESCRIPTION = "Emergency call notification settings changed"
LABELS = {
    "emergencyCallNotificationEnabled": "emergency call notification",
    "allowEmailNotificationAllLocationEnabled": "notification email for all locations",
    "emailAddress": "notification email address",
}


def _checked(fields: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """The fields as Control Hub's form would submit them: known names, the right types."""
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ApiError(400, f"Unknown setting fields: {', '.join(unknown)}.")
    for name, value in fields.items():
        wanted = str if name == "emailAddress" else bool
        if not isinstance(value, wanted):
            raise ApiError(400, f"{name} must be a {wanted.__name__}.")
    if not fields:
        raise ApiError(400, f"Nothing to change: give one of {', '.join(allowed)}.")
    return fields


def _admin(state: State, admin: Identity, org_id: str) -> None:
    """Control Hub lets a person who is a Full or User Administrator of the org change it."""
    if org_id not in state.orgs:
        raise ApiError(404, "Organization not found.")
    if admin.kind != "person" or state.admin_level(admin, org_id) != "write":
        raise ApiError(403, f"{admin.display_name} cannot change this organization's settings.")


def _describe(before: dict[str, Any], after: dict[str, Any]) -> str:
    def show(value: Any) -> str:
        return ("on" if value else "off") if isinstance(value, bool) else repr(value)

    return "; ".join(
        f"{LABELS[k]} {show(before[k])} → {show(after[k])}" for k in after if before[k] != after[k]
    )


def _apply(
    state: State, admin: Identity, record: dict[str, Any], names: tuple[str, ...],
    fields: dict[str, Any], target: tuple[str, str, str],
) -> dict[str, Any]:
    """Apply checked `fields` to a setting `record`; log the change (type, id, name) if any."""
    before = {k: record[k] for k in names}
    after = {**before, **_checked(fields, names)}
    if after["emergencyCallNotificationEnabled"] and not after["emailAddress"]:
        raise ApiError(400, "An email address is required to turn notifications on.")
    record.update(after)
    kind, target_id, name = target
    if after != before:
        where = name if kind == "ORG" else f"location {name}"
        record_event(
            state, admin, target_type=kind, target_id=target_id, target_name=name,
            description=DESCRIPTION,
            action_text=f"{admin.display_name} changed {where}: {_describe(before, after)}",
        )  # fmt: skip
    return after


def change_org_setting(
    state: State, admin: Identity, org_id: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """Change the org's setting as `admin` would in Control Hub; return the setting after."""
    _admin(state, admin, org_id)
    target = ("ORG", org_id, state.orgs[org_id]["displayName"])
    return _apply(state, admin, state.settings[org_id], SETTING_FIELDS, fields, target)


def find_location(state: State, org_id: str, name_or_id: str) -> dict[str, Any]:
    """An org's Webex Calling location by id or by name (case-insensitive); 404 otherwise."""
    wanted = name_or_id.casefold()
    for place in state.locations.values():
        if (
            place["orgId"] == org_id
            and place["calling"]
            and (place["id"] == name_or_id or place["name"].casefold() == wanted)
        ):
            return place
    raise ApiError(404, f"No Webex Calling location {name_or_id!r} in this organization.")


def change_location_setting(
    state: State, admin: Identity, org_id: str, location: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """Change a location's own setting as `admin` would in Control Hub (a Full or User
    Administrator, or a location administrator assigned to it); return its setting after."""
    place = find_location(state, org_id, location)
    if not (is_location_admin(admin) and place["id"] in admin.locations):
        _admin(state, admin, org_id)
    target = ("LOCATION", place["id"], place["name"])
    return _apply(state, admin, place, LOCATION_FIELDS, fields, target)


def set_audit_scope(state: State, identity: Identity, granted: bool) -> None:
    """Grant or withdraw audit:events_read for an identity's tokens (default: granted)."""
    if granted:
        state.audit_denied.discard(identity.id)
    else:
        state.audit_denied.add(identity.id)
