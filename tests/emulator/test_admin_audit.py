"""The Control Hub side: direct changes, the admin audit log they leave, and who may read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

import tests.emulator as shared
from bot.emulator import ApiError, Emulator
from bot.emulator.ids import iso
from bot.emulator.validation import response_problem
from tests.emulator import call

emu_fixture = shared.emu_fixture
http_fixture = shared.http_fixture

EVENTS = "/adminAudit/events"


async def _events(
    http: aiohttp.ClientSession, emu: Emulator, extra: str = "", token: str | None = None
) -> tuple[int, Any]:
    now = datetime.now(UTC)
    window = f"from={iso(now - timedelta(days=1))}&to={iso(now + timedelta(days=1))}"
    path = f"{EVENTS}?orgId={emu.seed.org_id}&{window}{extra}"
    status, body, _ = await call(http, emu, "GET", path, token or emu.seed.admin_token)
    return status, body


async def test_a_control_hub_change_is_in_the_audit_log_with_its_actor(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    after = emu.control_hub("uma", emergencyCallNotificationEnabled=True)
    assert after["emergencyCallNotificationEnabled"] is True
    assert emu.setting()["emergencyCallNotificationEnabled"] is True
    status, body = await _events(http, emu)
    assert status == 200
    assert response_problem("GET", EVENTS, 200, body) is None
    [event] = body["items"]
    data = event["data"]
    assert (data["actorName"], data["actorEmail"]) == ("Uma Underwood", "uma@acme.example")
    assert data["adminRoles"] == ["User"]
    assert data["targetType"] == "TargetResourceType.ORG"
    assert data["targetOrgId"] == emu.seed.org_id
    assert "emergency call notification off → on" in data["actionText"]


async def test_nothing_changed_and_api_writes_leave_no_event(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.control_hub("alice", emailAddress="security@acme.example")  # the value it has
    body = {**emu.setting(), "emergencyCallNotificationEnabled": True}
    path = "/telephony/config/emergencyCallNotification"
    assert (await call(http, emu, "PUT", path, emu.seed.admin_token, json=body))[0] == 204
    # Webex documents the log for changes made in Control Hub; the emulator records no others.
    assert (await _events(http, emu))[1] == {"items": []}


@pytest.mark.parametrize(
    ("who", "fields", "status"),
    [
        ("bob", {"emergencyCallNotificationEnabled": True}, 403),
        ("rita", {"emergencyCallNotificationEnabled": True}, 403),
        ("eve", {"emergencyCallNotificationEnabled": True}, 403),
        ("alice", {"bogus": True}, 400),
        ("alice", {"emergencyCallNotificationEnabled": "yes"}, 400),
        ("alice", {}, 400),
        ("alice", {"emergencyCallNotificationEnabled": True, "emailAddress": ""}, 400),
    ],
)
async def test_control_hub_refuses_what_it_would_refuse_and_changes_nothing(
    emu: Emulator, who: str, fields: dict[str, Any], status: int
) -> None:
    before = emu.setting()
    with pytest.raises(ApiError) as refused:
        emu.control_hub(who, **fields)
    assert refused.value.status == status
    assert emu.setting() == before and emu.state.admin_events == []


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z", "orgId"),
        ("?orgId={org}&to=2026-02-01T00:00:00Z", "from"),
        ("?orgId={org}&from=2026-01-01T00:00:00Z", "to"),
        ("?orgId={org}&from=yesterday&to=2026-02-01T00:00:00Z", "from"),
        ("?orgId={org}&from=2025-01-01T00:00:00Z&to=2026-02-01T00:00:00Z", "one year"),
        ("?orgId={org}&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&max=201", "max"),
        ("?orgId={org}&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&max=0", "max"),
        ("?orgId={org}&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&offset=x", "offset"),
    ],
)
async def test_bad_queries_are_400_naming_the_parameter(
    emu: Emulator, http: aiohttp.ClientSession, query: str, problem: str
) -> None:
    path = EVENTS + query.format(org=emu.seed.org_id)
    status, body, _ = await call(http, emu, "GET", path, emu.seed.admin_token)
    assert status == 400 and problem in body["message"]


async def test_pages_by_max_and_offset_newest_first_and_filters_by_category(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    for n in range(130):
        emu.control_hub("alice", emailAddress=f"desk{n}@acme.example")
    status, first = await _events(http, emu)
    assert status == 200 and len(first["items"]) == 100  # the documented default
    assert "desk129@" in first["items"][0]["data"]["actionText"]
    _, rest = await _events(http, emu, "&offset=100&max=200")
    assert len(rest["items"]) == 30 and "desk0@" in rest["items"][-1]["data"]["actionText"]
    seen = {e["id"] for e in first["items"]} | {e["id"] for e in rest["items"]}
    assert len(seen) == 130
    _, logins = await _events(http, emu, "&eventCategories=LOGINS,LOGOUT")
    assert logins["items"] == []
    _, calling = await _events(http, emu, "&eventCategories=CALLING&max=5")
    assert len(calling["items"]) == 5


@pytest.mark.parametrize(
    ("who", "status", "categories"),
    [
        ("admin", 200, 200),
        ("alice", 200, 200),
        ("uma", 403, 403),
        ("rita", 403, 403),
        ("bot", 403, 403),
        ("eve", 403, 200),  # a full administrator, of another organization
    ],
)
async def test_only_full_administrators_and_the_scoped_service_app_read_the_log(
    emu: Emulator, http: aiohttp.ClientSession, who: str, status: int, categories: int
) -> None:
    token = {"admin": emu.seed.admin_token, "bot": emu.seed.bot_token}.get(who)
    token = token or emu.seed.people[who].token
    assert (await _events(http, emu, token=token))[0] == status
    got, body, _ = await call(http, emu, "GET", "/adminAudit/eventCategories", token)
    assert got == categories
    if got == 200:
        assert "CALLING" in body["eventCategories"]
        assert response_problem("GET", "/adminAudit/eventCategories", 200, body) is None


async def test_control_api_changes_the_setting_and_withdraws_the_audit_scope(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    control = emu.base_url.removesuffix("/v1") + "/_emulator/controlhub"
    async with http.post(
        f"{control}/setting", json={"admin": "alice", "emergencyCallNotificationEnabled": True}
    ) as response:
        assert response.status == 200
        assert (await response.json())["setting"]["emergencyCallNotificationEnabled"] is True
    async with http.post(
        f"{control}/setting", json={"admin": "bob", "emailAddress": "bob@acme.example"}
    ) as response:
        assert response.status == 403
    async with http.post(f"{control}/setting", json={"admin": "nobody"}) as response:
        assert response.status == 404
    assert emu.setting()["emailAddress"] == "security@acme.example"
    async with http.post(f"{control}/audit-scope", json={"granted": False}) as response:
        assert (await response.json())["granted"] is False
    assert (await _events(http, emu))[0] == 403


async def test_a_location_change_in_control_hub_is_logged_by_the_location_s_name(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    after = emu.control_hub("alice", "riverside clinic", emergencyCallNotificationEnabled=False)
    assert after == {
        "emergencyCallNotificationEnabled": False,
        "emailAddress": "riverside-desk@acme.example",
    }
    assert emu.places.find("Riverside Clinic")["emergencyCallNotificationEnabled"] is False
    _, body = await _events(http, emu)
    [event] = body["items"]
    assert event["data"]["targetType"] == "TargetResourceType.LOCATION"
    assert event["data"]["targetName"] == "Riverside Clinic"
    assert response_problem("GET", EVENTS, 200, body) is None


@pytest.mark.parametrize(
    ("who", "where", "fields", "status"),
    [
        ("lou", "Headquarters", {"emergencyCallNotificationEnabled": False}, 403),
        ("rita", "Riverside Clinic", {"emergencyCallNotificationEnabled": False}, 403),
        ("alice", "Nowhere", {"emergencyCallNotificationEnabled": False}, 404),
        ("alice", "Warehouse", {"emergencyCallNotificationEnabled": True}, 404),  # no calling
        ("alice", "Riverside Clinic", {"allowEmailNotificationAllLocationEnabled": True}, 400),
        ("alice", "Headquarters", {"emergencyCallNotificationEnabled": True}, 400),  # no address
    ],
)
async def test_location_changes_control_hub_would_refuse_change_nothing(
    emu: Emulator, who: str, where: str, fields: dict[str, Any], status: int
) -> None:
    before = {k: dict(v) for k, v in emu.state.locations.items()}
    with pytest.raises(ApiError) as refused:
        emu.control_hub(who, where, **fields)
    assert refused.value.status == status
    assert emu.state.locations == before and emu.state.admin_events == []


async def test_a_location_administrator_changes_an_assigned_location_through_the_control_api(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    control = emu.base_url.removesuffix("/v1") + "/_emulator/controlhub"
    body = {"admin": "lou", "location": "Northgate Urgent Care", "emailAddress": "ng@acme.example"}
    async with http.post(f"{control}/location", json=body) as response:
        assert response.status == 200
    assert emu.places.find("Northgate Urgent Care")["emailAddress"] == "ng@acme.example"
    assert emu.state.admin_events[-1]["data"]["actorName"] == "Lou Lopez"
