"""Locations: both lists paged by Link, the location-level setting, location administrators."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

import tests.emulator as shared
from bot.emulator import Emulator, Seed, running_emulator
from bot.emulator.validation import response_problem
from tests.emulator import auth, call

emu_fixture = shared.emu_fixture
http_fixture = shared.http_fixture

CALLING = "/telephony/config/locations"
ECN = "/telephony/config/locations/{locationId}/emergencyCallNotification"
DEMO_CALLING = ["Headquarters", "Riverside Clinic", "Northgate Urgent Care", "Lakeside Pharmacy"]


def ecn(emu: Emulator, name: str) -> str:
    return ECN.format(locationId=emu.places.find(name)["id"])


def next_link(response: aiohttp.ClientResponse) -> str | None:
    match = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
    return match.group(1) if match else None


async def every_page(
    http: aiohttp.ClientSession, emu: Emulator, path: str, token: str, key: str, **params: str
) -> list[list[dict[str, Any]]]:
    """Follow the Link header as given until there is none; return each page's items."""
    pages: list[list[dict[str, Any]]] = []
    url: str | None = emu.base_url + path
    query: dict[str, str] | None = params
    while url is not None:
        async with http.get(url, params=query, headers=auth(token)) as response:
            assert response.status == 200, await response.text()
            body = await response.json()
            assert response_problem("GET", path, 200, body) is None
            pages.append(body[key])
            url, query = next_link(response), None
    return pages


async def test_calling_list_pages_by_link_and_leaves_out_locations_without_calling(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    pages = await every_page(http, emu, CALLING, emu.seed.admin_token, "locations", max="3")
    assert [len(p) for p in pages] == [3, 1]
    assert [p["name"] for page in pages for p in page] == DEMO_CALLING
    northgate = pages[0][2]
    assert northgate["callingLineId"]["phoneNumber"] is None  # as Webex's own example shows


async def test_a_page_may_hold_fewer_than_max_and_still_link_to_the_rest(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.places.page_cap = 1
    pages = await every_page(http, emu, CALLING, emu.seed.admin_token, "locations", max="50")
    assert [p["name"] for page in pages for p in page] == DEMO_CALLING
    assert [len(p) for p in pages] == [1, 1, 1, 1]


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"name": "CLINIC"}, ["Riverside Clinic"]),
        ({"order": "name-asc"}, sorted(DEMO_CALLING)),
        ({"order": "name-desc"}, sorted(DEMO_CALLING, reverse=True)),
        ({"start": "2", "max": "1"}, ["Northgate Urgent Care"]),
        ({"name": "Warehouse"}, []),
    ],
)
async def test_calling_list_filters_sorts_and_starts(
    emu: Emulator, http: aiohttp.ClientSession, params: dict[str, str], names: list[str]
) -> None:
    status, body, _ = await call(http, emu, "GET", CALLING, emu.seed.admin_token, params=params)
    assert status == 200
    assert [p["name"] for p in body["locations"]] == names


@pytest.mark.parametrize(
    "params", [{"max": "0"}, {"max": "ten"}, {"start": "-1"}, {"order": "newest"}]
)
async def test_calling_list_refuses_bad_parameters(
    emu: Emulator, http: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    status, body, _ = await call(http, emu, "GET", CALLING, emu.seed.admin_token, params=params)
    assert status == 400 and body["trackingId"]


async def test_all_locations_list_includes_those_without_calling_500_a_page() -> None:
    large = Seed.default().with_locations(1200)
    async with running_emulator(large, check_responses=True) as emu, aiohttp.ClientSession() as h:
        http = h
        pages = await every_page(http, emu, "/locations", emu.seed.admin_token, "items")
        assert [len(p) for p in pages] == [500, 500, 200]
        ids = [p["id"] for page in pages for p in page]
        assert len(set(ids)) == 1200
        calling = await every_page(
            http, emu, CALLING, emu.seed.admin_token, "locations", max="1000"
        )
        assert [len(p) for p in calling] == [1000, 200]
        assert {p["id"] for page in calling for p in page} == set(ids)
    names = await _all_names()
    assert "Warehouse" in names and "Headquarters" in names


async def _all_names() -> list[str]:
    async with running_emulator(check_responses=True) as emu, aiohttp.ClientSession() as http:
        pages = await every_page(http, emu, "/locations", emu.seed.admin_token, "items")
        return [p["name"] for page in pages for p in page]


async def test_location_get_carries_the_organization_block(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await call(http, emu, "GET", ecn(emu, "Riverside Clinic"),
                                 emu.seed.admin_token)
    assert status == 200
    assert response_problem("GET", ECN, 200, body) is None
    assert body == {
        "emergencyCallNotificationEnabled": True,
        "emailAddress": "riverside-desk@acme.example",
        "organization": emu.setting(),
    }


async def test_location_put_takes_the_two_fields_and_answers_204(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    body = {"emergencyCallNotificationEnabled": True, "emailAddress": "hq-desk@acme.example"}
    status, answer, _ = await call(http, emu, "PUT", ecn(emu, "Headquarters"),
                                   emu.seed.admin_token, json=body)
    assert (status, answer) == (204, "")
    place = emu.places.find("Headquarters")
    assert {k: place[k] for k in body} == body
    assert emu.setting()["emailAddress"] == "security@acme.example"  # the org is untouched


@pytest.mark.parametrize(
    "body",
    [
        {"emergencyCallNotificationEnabled": True, "emailAddress": ""},
        {"emergencyCallNotificationEnabled": True},
        {"emergencyCallNotificationEnabled": "yes", "emailAddress": "a@acme.example"},
        {"emergencyCallNotificationEnabled": False, "emailAddress": "",
         "allowEmailNotificationAllLocationEnabled": True},
    ],
)
async def test_location_put_refuses_bad_bodies_and_changes_nothing(
    emu: Emulator, http: aiohttp.ClientSession, body: dict[str, Any]
) -> None:
    before = dict(emu.places.find("Headquarters"))
    status, answer, _ = await call(http, emu, "PUT", ecn(emu, "Headquarters"),
                                   emu.seed.admin_token, json=body)
    assert status == 400 and answer["message"]
    assert emu.places.find("Headquarters") == before


@pytest.mark.parametrize("target", ["Warehouse", "Globex Main Office", "deleted", "nonsense"])
async def test_location_setting_is_404_without_calling_elsewhere_or_gone(
    emu: Emulator, http: aiohttp.ClientSession, target: str
) -> None:
    if target == "deleted":
        path = ecn(emu, "Lakeside Pharmacy")
        emu.places.delete("Lakeside Pharmacy")
    else:
        path = ECN.format(locationId="nonsense") if target == "nonsense" else ecn(emu, target)
    for method, body in (("GET", None), ("PUT", {"emergencyCallNotificationEnabled": False})):
        status, _, _ = await call(http, emu, method, path, emu.seed.admin_token, json=body)
        assert status == 404, (method, target)


@pytest.mark.parametrize(
    ("who", "place", "get_status", "put_status"),
    [
        ("alice", "Headquarters", 200, 204),
        ("uma", "Headquarters", 200, 204),
        ("rita", "Headquarters", 200, 403),
        ("bob", "Headquarters", 403, 403),
        ("sam", "Headquarters", 403, 403),
        ("eve", "Headquarters", 404, 404),
        ("lou", "Riverside Clinic", 200, 204),
        ("lou", "Headquarters", 403, 403),
    ],
)
async def test_location_setting_by_role(
    emu: Emulator, http: aiohttp.ClientSession, who: str, place: str, get_status: int,
    put_status: int,
) -> None:
    token, path = emu.seed.people[who].token, ecn(emu, place)
    before = dict(emu.places.find(place))
    assert (await call(http, emu, "GET", path, token))[0] == get_status
    body = {"emergencyCallNotificationEnabled": True, "emailAddress": "x@acme.example"}
    assert (await call(http, emu, "PUT", path, token, json=body))[0] == put_status
    if put_status != 204:
        assert emu.places.find(place) == before


async def test_a_location_administrator_lists_only_their_locations(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    token = emu.seed.people["lou"].token
    _, body, _ = await call(http, emu, "GET", CALLING, token)
    assert [p["name"] for p in body["locations"]] == ["Riverside Clinic", "Northgate Urgent Care"]
    status, _, _ = await call(http, emu, "GET", "/telephony/config/emergencyCallNotification",
                              token)
    assert status == 403  # the organization's own setting is not theirs
    status, _, _ = await call(http, emu, "GET", CALLING, emu.seed.people["bob"].token)
    assert status == 403


def test_a_location_administrator_has_at_most_five_locations(emu: Emulator) -> None:
    ids = [p.id for p in Seed.default().with_locations(6).locations[:6]]
    with pytest.raises(ValueError, match="at most 5"):
        emu.places.assign(emu.seed.people["bob"].id, ids)
    emu.places.assign(emu.seed.people["bob"].id, ids[:5])
    assert emu.identity("bob").locations == tuple(ids[:5])


async def test_a_restarted_emulator_hands_out_new_message_ids() -> None:
    first, second = Emulator(), Emulator()
    one = await first.post_message("alice", "direct_alice", "status")
    two = await second.post_message("alice", "direct_alice", "status")
    assert one["id"] != two["id"]
    assert first.seed.location_id == second.seed.location_id  # the seed itself stays stable
