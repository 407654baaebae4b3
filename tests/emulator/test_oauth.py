"""Personal sign-in at the emulator: the authorize page, the code grant with PKCE, refresh,
revocation, and what a person's token may do to the setting."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest

import tests.emulator as shared
from bot.emulator import Emulator
from bot.emulator.oauth import pkce_challenge
from tests.emulator import authorize_as, call

emu_fixture = shared.emu_fixture
http_fixture = shared.http_fixture
REDIRECT = "https://bot.example/oauth/callback"
VERIFIER = "v" * 64
ECN = "/telephony/config/emergencyCallNotification"


def _query(emu: Emulator, **extra: str) -> dict[str, str]:
    return {
        "client_id": emu.seed.integration_client_id, "response_type": "code",
        "redirect_uri": REDIRECT, "scope": "spark:people_read", "state": "s-1",
        "code_challenge": pkce_challenge(VERIFIER), "code_challenge_method": "S256", **extra,
    }  # fmt: skip


async def _approve(
    emu: Emulator, http: aiohttp.ClientSession, person: str, **extra: str
) -> dict[str, list[str]]:
    """Open the page, press the person's button; return the redirect's query."""
    url = f"{emu.base_url}/authorize?{urlencode(_query(emu, **extra))}"
    location = await authorize_as(http, url, emu.identity(person).id)
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)


def _exchange(emu: Emulator, code: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code", "client_id": emu.seed.integration_client_id,
        "client_secret": emu.seed.integration_client_secret, "code": code,
        "redirect_uri": REDIRECT, "code_verifier": VERIFIER, **extra,
    }  # fmt: skip


async def test_a_person_signs_in_and_the_token_is_theirs(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    answer = await _approve(emu, http, "alice")
    assert answer["state"] == ["s-1"]
    status, token, _ = await call(http, emu, "POST", "/access_token",
                                  data=_exchange(emu, answer["code"][0]))
    assert status == 200 and token["refresh_token"] and token["expires_in"] > 0
    _, me, _ = await call(http, emu, "GET", "/people/me", token["access_token"])
    assert me["id"] == emu.identity("alice").id
    # The code works once.
    status, body, _ = await call(http, emu, "POST", "/access_token",
                                 data=_exchange(emu, answer["code"][0]))
    assert (status, body["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize("change", [
    {"code_verifier": "w" * 64},
    {"code_verifier": ""},
    {"redirect_uri": "https://evil.example/oauth/callback"},
    {"client_secret": "nope"},
])  # fmt: skip
async def test_a_code_is_refused_without_its_verifier_redirect_and_client(
    emu: Emulator, http: aiohttp.ClientSession, change: dict[str, str]
) -> None:
    code = (await _approve(emu, http, "alice"))["code"][0]
    status, body, _ = await call(http, emu, "POST", "/access_token",
                                 data=_exchange(emu, code, **change))
    assert status in (400, 401) and body["error"] in ("invalid_grant", "invalid_client")
    assert "access_token" not in body


async def test_deny_redirects_with_access_denied_and_the_state(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    root = emu.base_url.removesuffix("/v1")
    form = {**_query(emu), "decision": "deny"}
    async with http.post(f"{root}/v1/authorize", data=form, allow_redirects=False) as reply:
        answer = parse_qs(urlsplit(reply.headers["Location"]).query)
    assert answer["error"] == ["access_denied"] and answer["state"] == ["s-1"]
    assert "code" not in answer


async def test_an_unknown_client_gets_a_page_and_no_redirect(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    query = urlencode(_query(emu, client_id="Cnobody"))
    async with http.get(f"{emu.base_url}/authorize?{query}", allow_redirects=False) as page:
        assert page.status == 400 and "Unknown client_id" in await page.text()


async def test_person_tokens_carry_their_roles_powers(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    tokens = {}
    for person in ("alice", "rita", "bob"):
        code = (await _approve(emu, http, person))["code"][0]
        tokens[person] = (await call(http, emu, "POST", "/access_token",
                                     data=_exchange(emu, code)))[1]["access_token"]
    body = {**emu.setting(), "emailAddress": "ops@acme.example"}
    assert (await call(http, emu, "GET", ECN, tokens["rita"]))[0] == 200
    assert (await call(http, emu, "PUT", ECN, tokens["rita"], json=body))[0] == 403
    assert (await call(http, emu, "GET", ECN, tokens["bob"]))[0] == 403
    assert emu.setting()["emailAddress"] == "security@acme.example"
    assert (await call(http, emu, "PUT", ECN, tokens["alice"], json=body))[0] == 204
    assert emu.setting()["emailAddress"] == "ops@acme.example"


async def test_refresh_then_revocation_stops_both_tokens(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    code = (await _approve(emu, http, "alice"))["code"][0]
    first = (await call(http, emu, "POST", "/access_token", data=_exchange(emu, code)))[1]
    refresh = {"grant_type": "refresh_token", "client_id": emu.seed.integration_client_id,
               "client_secret": emu.seed.integration_client_secret,
               "refresh_token": first["refresh_token"]}
    status, second, _ = await call(http, emu, "POST", "/access_token", data=refresh)
    assert status == 200 and second["access_token"] != first["access_token"]
    assert emu.revoke_authorization("alice") == 3
    assert (await call(http, emu, "GET", "/people/me", second["access_token"]))[0] == 401
    status, body, _ = await call(http, emu, "POST", "/access_token", data=refresh)
    assert (status, body["error"]) == (400, "invalid_grant")
    # The Service App's own refresh token belongs to another client: not usable here.
    status, _, _ = await call(http, emu, "POST", "/access_token",
                              data={**refresh, "refresh_token": emu.seed.admin_refresh_token})
    assert status == 400


async def test_deleting_the_authorization_revokes_the_persons_tokens_for_that_client(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    code = (await _approve(emu, http, "alice"))["code"][0]
    grant = (await call(http, emu, "POST", "/access_token", data=_exchange(emu, code)))[1]
    uma_code = (await _approve(emu, http, "uma"))["code"][0]
    uma = (await call(http, emu, "POST", "/access_token", data=_exchange(emu, uma_code)))[1]
    client = emu.seed.integration_client_id
    path = f"/authorizations?{urlencode({'clientId': client})}"
    assert (await call(http, emu, "DELETE", path, "not-a-token"))[0] == 401
    other_org = f"{path}&{urlencode({'orgId': emu.seed.other_org_id})}"
    assert (await call(http, emu, "DELETE", other_org, grant["access_token"]))[0] == 403

    status, _, _ = await call(http, emu, "DELETE", path, grant["access_token"])
    assert status == 204
    assert (await call(http, emu, "GET", "/people/me", grant["access_token"]))[0] == 401
    refresh = {"grant_type": "refresh_token", "client_id": client,
               "client_secret": emu.seed.integration_client_secret,
               "refresh_token": grant["refresh_token"]}
    status, body, _ = await call(http, emu, "POST", "/access_token", data=refresh)
    assert (status, body["error"]) == (400, "invalid_grant")
    # Only the caller's own authorization goes.
    assert (await call(http, emu, "GET", "/people/me", uma["access_token"]))[0] == 200


@pytest.mark.parametrize("person", ["rita", "lou", "bob"])
async def test_only_full_and_user_administrators_may_delete_an_authorization(
    emu: Emulator, http: aiohttp.ClientSession, person: str
) -> None:
    code = (await _approve(emu, http, person))["code"][0]
    grant = (await call(http, emu, "POST", "/access_token", data=_exchange(emu, code)))[1]
    path = f"/authorizations?{urlencode({'clientId': emu.seed.integration_client_id})}"
    assert (await call(http, emu, "DELETE", path, grant["access_token"]))[0] == 403
    assert (await call(http, emu, "GET", "/people/me", grant["access_token"]))[0] == 200
