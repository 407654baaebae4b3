"""Who sees roles, organizations and people, and in what shape."""

from __future__ import annotations

import aiohttp

import tests.emulator as shared
from bot.emulator import Emulator, Seed
from bot.emulator.ids import decode_id
from tests.emulator import call

emu_fixture = shared.emu_fixture
http_fixture = shared.http_fixture


def _kind(webex_id: str) -> str:
    decoded = decode_id(webex_id)
    assert decoded is not None
    return decoded[0]


def test_seed_is_deterministic_and_ids_have_webex_form() -> None:
    first, second = Seed.default(), Seed.default()
    assert first == second
    assert _kind(first.people["alice"].id) == "PEOPLE"
    assert decode_id(first.roles["id_full_admin"]) == ("ROLE", "id_full_admin")
    assert _kind(first.rooms["group"]) == "ROOM"
    assert _kind(first.org_id) == "ORGANIZATION"
    assert "=" not in first.bot_id and "+" not in first.bot_id and "/" not in first.bot_id
    assert (
        len({p.token for p in first.people.values()} | {first.bot_token, first.admin_token})
        == len(first.people) + 2
    )


async def test_bot_sees_people_without_roles_and_cannot_list_roles(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    alice = emu.seed.people["alice"]
    status, body, _ = await call(http, emu, "GET", f"/people/{alice.id}", emu.seed.bot_token)
    assert status == 200 and body["displayName"] == "Alice Adams" and "roles" not in body
    assert (await call(http, emu, "GET", "/roles", emu.seed.bot_token))[0] == 403
    org = f"/organizations/{emu.seed.org_id}"
    assert (await call(http, emu, "GET", org, emu.seed.bot_token))[0] == 403


async def test_admin_token_sees_roles_and_resolves_their_names(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    rita = emu.seed.people["rita"]
    _, person, _ = await call(http, emu, "GET", f"/people/{rita.id}", emu.seed.admin_token)
    _, roles, _ = await call(http, emu, "GET", "/roles", emu.seed.admin_token)
    names = {r["id"]: r["name"] for r in roles["items"]}
    assert [names[r] for r in person["roles"]] == ["Read-only Administrator"]
    assert set(names.values()) >= {
        "Full Administrator",
        "User Administrator",
        "Support Administrator",
        "Compliance Officer",
    }
    role = person["roles"][0]
    status, one, _ = await call(http, emu, "GET", f"/roles/{role}", emu.seed.admin_token)
    assert (status, one["name"]) == (200, "Read-only Administrator")


async def test_person_of_another_org_comes_back_basic(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    eve = emu.seed.people["eve"]
    status, body, _ = await call(http, emu, "GET", f"/people/{eve.id}", emu.seed.admin_token)
    assert status == 200
    assert set(body) == {"id", "emails", "displayName", "orgId"}
    assert body["orgId"] == emu.seed.other_org_id


async def test_people_me_is_the_service_app_for_the_admin_token(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    _, me, _ = await call(http, emu, "GET", "/people/me", emu.seed.admin_token)
    assert (me["id"], me["orgId"], me["type"]) == (
        emu.seed.admin_app.id,
        emu.seed.org_id,
        "appuser",
    )
    _, bot, _ = await call(http, emu, "GET", "/people/me", emu.seed.bot_token)
    assert (bot["id"], bot["displayName"], bot["emails"], bot["type"]) == (
        emu.seed.bot_id,
        "Kari Bot",
        ["kari-bot@webex.bot"],
        "bot",
    )


async def test_unknown_person_is_404_and_unknown_token_401(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    assert (await call(http, emu, "GET", "/people/nobody", emu.seed.admin_token))[0] == 404
    status, body, _ = await call(http, emu, "GET", "/people/me", "not-a-token")
    assert status == 401 and body["trackingId"]
    assert (await call(http, emu, "GET", "/people/me"))[0] == 401


async def test_organization_is_visible_to_its_own_admin_only(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    path = f"/organizations/{emu.seed.org_id}"
    status, body, _ = await call(http, emu, "GET", path, emu.seed.admin_token)
    assert (status, body["displayName"]) == (200, "Acme Health")
    assert (await call(http, emu, "GET", path, emu.seed.other_admin_token))[0] in (403, 404)
    assert (await call(http, emu, "GET", path, emu.seed.people["bob"].token))[0] == 403
