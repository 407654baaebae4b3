"""Every response the emulator gives validates against Webex's OpenAPI response schemas."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import aiohttp
import pytest

import tests.emulator as shared
from bot.emulator import Emulator
from bot.emulator.validation import request_problem, response_problem, spec
from tests.emulator import call

emu_fixture = shared.emu_fixture
http_fixture = shared.http_fixture

CARD = {
    "contentType": "application/vnd.microsoft.card.adaptive",
    "content": {"type": "AdaptiveCard", "version": "1.3", "body": []},
}


def test_the_shipped_spec_is_webex_text_with_attribution() -> None:
    text = resources.files("bot.emulator").joinpath("webex-api-subset.openapi.json").read_text()
    assert "CC BY 4.0" in json.loads(text)["info"]["description"]
    notes = resources.files("bot.emulator").joinpath("DATA_SOURCES.md").read_text()
    assert "CC BY 4.0" in notes and "webex-openapi-specs" in notes


def test_spec_request_schema_rejects_wrong_types() -> None:
    path = "/telephony/config/emergencyCallNotification"
    assert request_problem("PUT", path, {"emergencyCallNotificationEnabled": True}) is None
    assert "boolean" in (
        request_problem("PUT", path, {"emergencyCallNotificationEnabled": 1}) or ""
    )
    assert response_problem("GET", "/people/me", 200, {"emails": "not-a-list"}) is not None
    assert "/messages" in spec()["paths"]


async def test_responses_validate_across_the_api(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    seed, bot, admin = emu.seed, emu.seed.bot_token, emu.seed.admin_token
    hook_body = {
        "name": "h",
        "targetUrl": "http://127.0.0.1:9/h",
        "resource": "messages",
        "event": "created",
        "secret": "x",
    }
    _, hook, _ = await call(http, emu, "POST", "/webhooks", bot, json=hook_body)
    _, card, _ = await call(
        http,
        emu,
        "POST",
        "/messages",
        bot,
        json={"roomId": seed.rooms["direct_alice"], "markdown": "c", "attachments": [CARD]},
    )
    action = await emu.press_card("alice", card["id"], {"a": "b"})
    mention = await emu.post_message("alice", "group", "status", mention_bot=True)
    checks: list[tuple[str, str, str, str | None, Any]] = [
        ("GET", "/people/me", "/people/me", bot, None),
        ("GET", f"/people/{seed.people['alice'].id}", "/people/{personId}", admin, None),
        ("GET", "/roles", "/roles", admin, None),
        ("GET", f"/roles/{seed.roles['id_full_admin']}", "/roles/{roleId}", admin, None),
        ("GET", f"/organizations/{seed.org_id}", "/organizations/{orgId}", admin, None),
        ("GET", f"/rooms/{seed.rooms['group']}", "/rooms/{roomId}", bot, None),
        ("GET", f"/memberships?roomId={seed.rooms['group']}", "/memberships", bot, None),
        ("GET", f"/messages/{mention['id']}", "/messages/{messageId}", bot, None),
        ("GET", f"/messages/{card['id']}", "/messages/{messageId}", bot, None),
        ("GET", f"/messages?roomId={seed.rooms['direct_alice']}", "/messages", bot, None),
        ("GET", f"/attachment/actions/{action['id']}", "/attachment/actions/{id}", bot, None),
        ("GET", "/webhooks", "/webhooks", bot, None),
        ("GET", f"/webhooks/{hook['id']}", "/webhooks/{webhookId}", bot, None),
        (
            "PUT",
            f"/webhooks/{hook['id']}",
            "/webhooks/{webhookId}",
            bot,
            {"name": "h2", "targetUrl": "http://127.0.0.1:9/h"},
        ),
        (
            "GET",
            "/telephony/config/emergencyCallNotification",
            "/telephony/config/emergencyCallNotification",
            admin,
            None,
        ),
        (
            "GET",
            f"/telephony/config/locations/{seed.location_id}/emergencyCallNotification",
            "/telephony/config/locations/{locationId}/emergencyCallNotification",
            admin,
            None,
        ),
        ("GET", "/telephony/config/locations?max=2", "/telephony/config/locations", admin, None),
        ("GET", "/locations", "/locations", admin, None),
        (
            "POST",
            "/messages",
            "/messages",
            bot,
            {
                "roomId": seed.rooms["group"],
                "markdown": "hi <@personId:" + seed.people["bob"].id + "|Bob>",
            },
        ),
        (
            "POST",
            "/memberships",
            "/memberships",
            seed.people["alice"].token,
            {"roomId": seed.rooms["lobby"], "personId": seed.people["uma"].id},
        ),
    ]
    for method, path, template, token, body in checks:
        status, answer, _ = await call(http, emu, method, path, token, json=body)
        assert status == 200, (path, answer)
        assert response_problem(method, template, status, answer) is None, path
    assert response_problem("POST", "/attachment/actions", 202, action) is None
    assert response_problem("POST", "/messages", 200, mention) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_error_bodies_carry_message_errors_and_tracking_id(
    emu: Emulator, http: aiohttp.ClientSession, status: int
) -> None:
    requests = {
        400: (
            "PUT",
            "/telephony/config/emergencyCallNotification",
            emu.seed.admin_token,
            {"emailAddress": 1},
        ),
        401: ("GET", "/people/me", "expired", None),
        403: ("GET", "/roles", emu.seed.bot_token, None),
        404: ("GET", "/people/unknown", emu.seed.bot_token, None),
    }
    method, path, token, body = requests[status]
    got, answer, response = await call(http, emu, method, path, token, json=body)
    assert got == status
    assert set(answer) >= {"message", "errors", "trackingId"}
    assert answer["trackingId"] == response.headers["TrackingID"]
