"""The real webexteamssdk works against the emulator (called off the event loop)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from webexteamssdk import WebexTeamsAPI
from webexteamssdk.exceptions import ApiError

import tests.emulator as shared
from bot.emulator import Emulator

emu_fixture = shared.emu_fixture

CARD = shared.card("Go")


def _api(emu: Emulator, token: str) -> WebexTeamsAPI:
    return WebexTeamsAPI(access_token=token, base_url=emu.base_url + "/")


async def test_bot_sdk_calls(emu: Emulator) -> None:
    api = _api(emu, emu.seed.bot_token)
    seed = emu.seed

    def messaging() -> tuple[Any, ...]:
        me = api.people.me()
        alice = api.people.get(seed.people["alice"].id)
        sent = api.messages.create(
            roomId=seed.rooms["direct_alice"], markdown="Settings", attachments=[CARD]
        )
        fetched = api.messages.get(sent.id)
        room = api.rooms.get(seed.rooms["group"])
        members = list(api.memberships.list(roomId=seed.rooms["group"]))
        hook = api.webhooks.create(
            name="kari",
            targetUrl="http://127.0.0.1:9/h",
            resource="messages",
            event="created",
            secret="s",
        )
        updated = api.webhooks.update(hook.id, name="kari2", targetUrl="http://127.0.0.1:9/h")
        hooks = list(api.webhooks.list())
        api.webhooks.delete(hook.id)
        return me, alice, sent, fetched, room, members, updated, hooks

    me, alice, sent, fetched, room, members, updated, hooks = await asyncio.to_thread(messaging)
    assert me.id == seed.bot_id and me.displayName == "Kari Bot"
    assert alice.roles is None
    assert fetched.id == sent.id and fetched.attachments == [CARD]
    assert fetched.created.year >= 2026
    assert room.type == "group" and len(members) == 6
    assert updated.name == "kari2" and [h.id for h in hooks] == [updated.id]
    action = await emu.press_card("alice", sent.id, {"action": "go"})
    got = await asyncio.to_thread(api.attachment_actions.get, action["id"])
    assert got.inputs == {"action": "go"} and got.personId == seed.people["alice"].id
    await asyncio.to_thread(api.messages.delete, sent.id)
    with pytest.raises(ApiError) as caught:
        await asyncio.to_thread(api.messages.get, sent.id)
    assert caught.value.status_code == 404 and caught.value.tracking_id.startswith("EMU_")


async def test_admin_sdk_calls(emu: Emulator) -> None:
    api = _api(emu, emu.seed.admin_token)

    def admin() -> tuple[Any, ...]:
        roles = list(api.roles.list())
        org = api.organizations.get(emu.seed.org_id)
        person = api.people.get(emu.seed.people["uma"].id)
        token = api.access_tokens.refresh(
            emu.seed.client_id, emu.seed.client_secret, emu.seed.admin_refresh_token
        )
        return roles, org, person, token

    roles, org, person, token = await asyncio.to_thread(admin)
    assert "Full Administrator" in {r.name for r in roles}
    assert org.displayName == "Acme Health"
    assert person.roles == [emu.seed.roles["id_user_admin"]]
    assert token.access_token and token.expires_in == emu.access_token_ttl
    refreshed = _api(emu, token.access_token)
    roles_again = await asyncio.to_thread(lambda: list(refreshed.roles.list()))
    assert len(roles_again) == len(emu.seed.roles)


async def test_bot_sdk_cannot_list_roles(emu: Emulator) -> None:
    api = _api(emu, emu.seed.bot_token)
    with pytest.raises(ApiError) as caught:
        await asyncio.to_thread(lambda: list(api.roles.list()))
    assert caught.value.status_code == 403
