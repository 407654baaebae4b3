"""Service app tokens: expiry, refresh, revocation."""

from __future__ import annotations

import aiohttp

import tests.emulator as shared
from bot.emulator import Emulator
from tests.emulator import call

emu_fixture = shared.emu_fixture
http_fixture = shared.http_fixture


def _form(emu: Emulator, refresh_token: str, secret: str | None = None) -> dict[str, str]:
    return {
        "grant_type": "refresh_token",
        "client_id": emu.seed.client_id,
        "client_secret": secret or emu.seed.client_secret,
        "refresh_token": refresh_token,
    }


async def test_expired_token_is_401_and_a_refreshed_one_has_admin_powers(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.expire_token(emu.seed.admin_token)
    status, body, _ = await call(http, emu, "GET", "/roles", emu.seed.admin_token)
    assert status == 401 and body["trackingId"]
    status, token, _ = await call(
        http, emu, "POST", "/access_token", data=_form(emu, emu.seed.admin_refresh_token)
    )
    assert status == 200
    assert set(token) == {
        "access_token",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
        "token_type",
    }
    assert token["token_type"] == "Bearer" and token["expires_in"] == emu.access_token_ttl
    fresh = token["access_token"]
    assert (await call(http, emu, "GET", "/roles", fresh))[0] == 200
    path = "/telephony/config/emergencyCallNotification"
    assert (await call(http, emu, "GET", path, fresh))[0] == 200
    _, me, _ = await call(http, emu, "GET", "/people/me", fresh)
    assert me["id"] == emu.seed.admin_app.id


async def test_issued_tokens_expire_after_the_configured_ttl(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.access_token_ttl = 0
    _, token, _ = await call(
        http, emu, "POST", "/access_token", data=_form(emu, emu.seed.admin_refresh_token)
    )
    assert token["expires_in"] == 0
    assert (await call(http, emu, "GET", "/people/me", token["access_token"]))[0] == 401
    _, again, _ = await call(
        http, emu, "POST", "/access_token", data=_form(emu, token["refresh_token"])
    )
    assert again["access_token"] != token["access_token"]


async def test_revoked_refresh_token_is_invalid_grant(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.revoke_refresh_token(emu.seed.admin_refresh_token)
    status, body, _ = await call(
        http, emu, "POST", "/access_token", data=_form(emu, emu.seed.admin_refresh_token)
    )
    assert (status, body["error"]) == (400, "invalid_grant")
    assert body["trackingId"]


async def test_wrong_client_secret_is_refused(emu: Emulator, http: aiohttp.ClientSession) -> None:
    status, body, _ = await call(
        http,
        emu,
        "POST",
        "/access_token",
        data=_form(emu, emu.seed.admin_refresh_token, secret="nope"),
    )
    assert (status, body["error"]) == (401, "invalid_client")
