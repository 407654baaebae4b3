"""The emergencyCallNotification endpoints: who may read and change them, and how."""

from __future__ import annotations

import aiohttp
import pytest

import tests.emulator as shared
from bot.emulator import Emulator
from tests.emulator import call

emu_fixture = shared.emu_fixture
http_fixture = shared.http_fixture

PATH = "/telephony/config/emergencyCallNotification"
ON = {
    "emergencyCallNotificationEnabled": True,
    "allowEmailNotificationAllLocationEnabled": True,
    "emailAddress": "oncall@acme.example",
}


async def test_put_answers_204_with_empty_body_and_get_reflects_it(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    status, body, response = await call(http, emu, "PUT", PATH, emu.seed.admin_token, json=ON)
    assert (status, body) == (204, "")
    assert response.headers["TrackingID"].startswith("EMU_")
    status, body, _ = await call(http, emu, "GET", PATH, emu.seed.admin_token)
    assert (status, body) == (200, ON)
    assert emu.setting() == ON
    [put] = emu.calls(method="PUT", path=PATH)
    assert (put.json, put.status, put.person_id) == (ON, 204, emu.seed.admin_app.id)


async def test_get_starts_from_the_seeded_setting(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    _, body, _ = await call(http, emu, "GET", PATH, emu.seed.admin_token)
    assert body == {
        "emergencyCallNotificationEnabled": False,
        "allowEmailNotificationAllLocationEnabled": False,
        "emailAddress": "security@acme.example",
    }


async def test_set_setting_from_control_hub_is_what_get_returns(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.set_setting(emailAddress="", emergencyCallNotificationEnabled=False)
    _, body, _ = await call(http, emu, "GET", PATH, emu.seed.admin_token)
    assert body["emailAddress"] == ""
    with pytest.raises(KeyError):
        emu.set_setting(bogus=True)


@pytest.mark.parametrize(
    ("who", "get_status", "put_status"),
    [
        ("alice", 200, 204),
        ("uma", 200, 204),
        ("rita", 200, 403),
        ("bob", 403, 403),
        ("sam", 403, 403),
        ("eve", 403, 403),
    ],
)
async def test_person_tokens_act_per_their_roles(
    emu: Emulator, http: aiohttp.ClientSession, who: str, get_status: int, put_status: int
) -> None:
    token = emu.seed.people[who].token
    query = {"orgId": emu.seed.org_id}
    assert (await call(http, emu, "GET", PATH, token, params=query))[0] == get_status
    status, body, _ = await call(http, emu, "PUT", PATH, token, params=query, json=ON)
    assert status == put_status
    if status == 403:
        assert body["trackingId"].startswith("EMU_") and body["message"]
        assert emu.setting()["emergencyCallNotificationEnabled"] is False


async def test_bot_token_is_refused_telephony(emu: Emulator, http: aiohttp.ClientSession) -> None:
    for method in ("GET", "PUT"):
        status, body, _ = await call(http, emu, method, PATH, emu.seed.bot_token, json=ON)
        assert status == 403
        assert "not authorized" in body["message"]


async def test_other_orgs_admin_cannot_touch_acme(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    query = {"orgId": emu.seed.org_id}
    status, _, _ = await call(
        http, emu, "PUT", PATH, emu.seed.other_admin_token, params=query, json=ON
    )
    assert status == 403
    status, body, _ = await call(http, emu, "GET", PATH, emu.seed.other_admin_token)
    assert status == 200 and body["emailAddress"] == ""


@pytest.mark.parametrize(
    "bad",
    [
        {"emergencyCallNotificationEnabled": "yes"},
        {"emailAddress": 42},
        ["not", "an", "object"],
    ],
)
async def test_invalid_put_body_is_400_naming_the_problem(
    emu: Emulator, http: aiohttp.ClientSession, bad: object
) -> None:
    status, body, response = await call(http, emu, "PUT", PATH, emu.seed.admin_token, json=bad)
    assert status == 400
    assert body["message"].startswith("Invalid request body")
    assert body["trackingId"] == response.headers["TrackingID"]
    assert body["errors"][0]["description"] == body["message"]
    assert emu.setting()["emergencyCallNotificationEnabled"] is False


async def test_unreadable_json_is_400(emu: Emulator, http: aiohttp.ClientSession) -> None:
    status, body, _ = await call(
        http,
        emu,
        "PUT",
        PATH,
        emu.seed.admin_token,
        data=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert status == 400 and "JSON" in body["message"]


async def test_enabling_without_any_address_is_refused(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.set_setting(emailAddress="")
    body = {
        "emergencyCallNotificationEnabled": True,
        "allowEmailNotificationAllLocationEnabled": False,
        "emailAddress": "",
    }
    assert (await call(http, emu, "PUT", PATH, emu.seed.admin_token, json=body))[0] == 400


async def test_location_level_get_and_put(emu: Emulator, http: aiohttp.ClientSession) -> None:
    path = f"/telephony/config/locations/{emu.seed.location_id}/emergencyCallNotification"
    status, _, _ = await call(
        http,
        emu,
        "PUT",
        path,
        emu.seed.admin_token,
        json={"emergencyCallNotificationEnabled": True, "emailAddress": "desk@acme.example"},
    )
    assert status == 204
    status, body, _ = await call(http, emu, "GET", path, emu.seed.admin_token)
    assert status == 200
    assert body["emailAddress"] == "desk@acme.example"
    assert body["organization"]["emailAddress"] == "security@acme.example"
    other = f"/telephony/config/locations/{emu.seed.other_location_id}/emergencyCallNotification"
    assert (await call(http, emu, "GET", other, emu.seed.admin_token))[0] == 404
