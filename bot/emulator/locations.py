"""Locations: both lists (paged by a Link header) and the location-level notification setting.

Who may do what, from Webex's OpenAPI text: full, user and read-only administrators read every
location of their organization, full and user administrators change them; a location
administrator reads and changes only the locations assigned to them (at most five), and the
lists show them only those (Webex does not say what the lists show a location administrator;
the emulator shows no more than they administer).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from yarl import URL

from bot.emulator.admin import SETTING_FIELDS
from bot.emulator.calls import Call, Reply
from bot.emulator.errors import ApiError
from bot.emulator.places import location_json, telephony_json
from bot.emulator.seed import role_id
from bot.emulator.state import Identity

LOCATION_FIELDS = ("emergencyCallNotificationEnabled", "emailAddress")
LOCATION_ADMIN = role_id("id_location_admin")
TELEPHONY_DEFAULT_MAX = 100  # Webex documents no default page size for this list
ALL_DEFAULT_MAX = 500  # documented for GET /locations
NOT_ALLOWED = "Not authorized: an administrator token with the required scope is needed."
ORDERS = {"name-asc": False, "name-desc": True}


def is_location_admin(who: Identity) -> bool:
    """Whether an identity holds the location administrator role."""
    return LOCATION_ADMIN in who.roles


def _org(call: Call) -> str:
    org_id = call.query.get("orgId") or call.who.org_id
    if org_id not in call.state.orgs:
        raise ApiError(404, "Organization not found.")
    if call.who.kind == "bot":
        raise ApiError(403, "Bots are not authorized to access telephony configuration.")
    return org_id


def _may(call: Call, org_id: str, level: str, location_id: str | None) -> bool:
    """Whether the caller may read (or write) a location of the org (None: every location)."""
    granted = call.state.admin_level(call.who, org_id)
    if granted == "write" or (granted == "read" and level == "read"):
        return True
    who = call.who
    return (
        is_location_admin(who)
        and who.org_id == org_id
        and (location_id is None or location_id in who.locations)
    )


def _visible(call: Call, org_id: str, *, calling_only: bool) -> list[dict[str, Any]]:
    if not _may(call, org_id, "read", None):
        raise ApiError(403, NOT_ALLOWED)
    everything = call.state.admin_level(call.who, org_id) is not None
    return [
        place
        for place in call.state.locations.values()
        if place["orgId"] == org_id
        and (place["calling"] or not calling_only)
        and (everything or place["id"] in call.who.locations)
    ]


def _number(call: Call, name: str, default: int, minimum: int) -> int:
    raw = call.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid value for {name}: {raw!r}.") from None
    if value < minimum:
        raise ApiError(400, f"Invalid value for {name}: it must be at least {minimum}.")
    return value


def _named(call: Call, places: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted = call.query.get("name")
    if wanted is None:
        return places
    return [p for p in places if wanted.casefold() in p["name"].casefold()]


def _page(
    call: Call, places: list[dict[str, Any]], start: int, size: int,
    next_query: Callable[[int], dict[str, str]],
) -> tuple[list[dict[str, Any]], tuple[tuple[str, str], ...]]:
    """One page and, when more follow, Webex's `Link: <next url>; rel="next"` header (this
    request's URL with `next_query(where the next page starts)` applied)."""
    size = min(size, call.state.location_page_cap or size)
    chunk = places[start : start + size]
    end = start + len(chunk)
    if not chunk or end >= len(places):
        return chunk, ()
    following = URL(call.url).update_query(next_query(end))
    return chunk, (("Link", f'<{following}>; rel="next"'),)


def telephony_list(call: Call) -> Reply:
    """GET /telephony/config/locations: Webex Calling locations, `start`/`max` paged."""
    org_id = _org(call)
    order = call.query.get("order")
    if order is not None and order not in ORDERS:
        raise ApiError(400, "Invalid value for order: use name-asc or name-desc.")
    places = _named(call, _visible(call, org_id, calling_only=True))
    if order is not None:
        places.sort(key=lambda p: p["name"].casefold(), reverse=ORDERS[order])
    start = _number(call, "start", 0, 0)
    size = _number(call, "max", TELEPHONY_DEFAULT_MAX, 1)
    chunk, headers = _page(call, places, start, size, lambda end: {"start": str(end)})
    return Reply(200, {"locations": [telephony_json(p) for p in chunk]}, headers)


def _cursor(value: str | None) -> int:
    if value is None:
        return 0
    try:
        return int(base64.urlsafe_b64decode(value.encode()).decode().removeprefix("offset:"))
    except ValueError:
        raise ApiError(400, "Invalid cursor.") from None


def _encode_cursor(end: int) -> dict[str, str]:
    return {"cursor": base64.urlsafe_b64encode(f"offset:{end}".encode()).decode()}


def all_list(call: Call) -> Reply:
    """GET /locations: every location, calling or not; `max` (default 500), cursor links."""
    org_id = call.query.get("orgId") or call.who.org_id
    if org_id != call.who.org_id:
        raise ApiError(403, NOT_ALLOWED)  # only partners may name another org
    places = _named(call, _visible(call, org_id, calling_only=False))
    if "id" in call.query:
        places = [p for p in places if p["id"] == call.query["id"]]
    start = _cursor(call.query.get("cursor"))
    size = _number(call, "max", ALL_DEFAULT_MAX, 1)
    chunk, headers = _page(call, places, start, size, _encode_cursor)
    return Reply(200, {"items": [location_json(p) for p in chunk]}, headers)


def _location(call: Call, level: str) -> dict[str, Any]:
    org_id = _org(call)
    location_id = call.params["locationId"]
    if not _may(call, org_id, level, location_id):
        raise ApiError(403, NOT_ALLOWED)
    place = call.state.locations.get(location_id)
    if place is None or place["orgId"] != org_id or not place["calling"]:
        raise ApiError(404, "Location not found or it does not have Webex Calling.")
    return place


def location_ecn_get(call: Call) -> Reply:
    """GET /telephony/config/locations/{locationId}/emergencyCallNotification."""
    place = _location(call, "read")
    org = call.state.settings[place["orgId"]]
    body = {k: place[k] for k in LOCATION_FIELDS}
    return Reply(200, {**body, "organization": {k: org[k] for k in SETTING_FIELDS}})


def location_ecn_put(call: Call) -> Reply:
    """PUT /telephony/config/locations/{locationId}/emergencyCallNotification: the two fields
    only (anything else is 400, so a client sending the org's third field is caught); 204."""
    place = _location(call, "write")
    body: dict[str, Any] = call.body if isinstance(call.body, dict) else {}
    unknown = sorted(set(body) - set(LOCATION_FIELDS))
    if unknown:
        raise ApiError(400, f"Invalid request body: unknown field(s) {', '.join(unknown)}.")
    wanted = {**{k: place[k] for k in LOCATION_FIELDS}, **body}
    if wanted["emergencyCallNotificationEnabled"] and not wanted["emailAddress"]:
        raise ApiError(400, "emailAddress is required when emergency call notification is on.")
    place.update(wanted)
    return Reply(204)


ROUTES: dict[tuple[str, str], Callable[[Call], Reply]] = {
    ("GET", "/telephony/config/locations"): telephony_list,
    ("GET", "/locations"): all_list,
    ("GET", "/telephony/config/locations/{locationId}/emergencyCallNotification"):
        location_ecn_get,
    ("PUT", "/telephony/config/locations/{locationId}/emergencyCallNotification"):
        location_ecn_put,
}

