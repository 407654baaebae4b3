"""Personal sign-in for end-to-end tests: the settings, a bot with CHANGES_WITH=admin, and a
person signing in through the browser (the card's button, Webex's page, the bot's callback)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.emulator import Emulator
from bot.sealing import generate_key
from tests.e2e.harness import RunningBot, running_bot
from tests.e2e.helpers import card_of, say
from tests.emulator import authorize_as
from tests.procs import free_port

ECN = "/telephony/config/emergencyCallNotification"
KEY = generate_key()


def sign_in_settings(emu: Emulator, port: int) -> dict[str, Any]:
    return {"CHANGES_WITH": "admin", "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "WEBEX_INTEGRATION_CLIENT_ID": emu.seed.integration_client_id,
            "WEBEX_INTEGRATION_CLIENT_SECRET": emu.seed.integration_client_secret,
            "TOKEN_ENCRYPTION_KEY": KEY, "ROLE_CACHE_SECONDS": 0}


@pytest.fixture
async def admin_bot(emu: Emulator, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """CHANGES_WITH=admin; PUBLIC_URL is the bot itself, so it syncs its own webhooks."""
    port = free_port()
    async with running_bot(emu, tmp_path, webhooks=False, port=port,
                           **sign_in_settings(emu, port)) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


async def told(emu: Emulator, who: str, words: str) -> dict[str, Any]:
    """The bot's message in `who`'s 1:1 space that says `words`."""
    room = emu.room_id(f"direct_{who}")
    return await emu.wait_for_message(
        lambda m: m["personId"] == emu.seed.bot_id and m["roomId"] == room
        and words in (m.get("markdown") or ""), timeout=8.0)


def sign_in_url(message: dict[str, Any]) -> str:
    [action] = [a for a in card_of(message).get("actions", []) if a["type"] == "Action.OpenUrl"]
    return str(action["url"])


async def open_callback(http: aiohttp.ClientSession, location: str) -> tuple[int, str]:
    async with http.get(location, allow_redirects=False) as page:
        return page.status, await page.text()


async def sign_in(emu: Emulator, http: aiohttp.ClientSession, who: str,
                  approver: str | None = None) -> tuple[int, str]:
    """`who` says `sign in`, opens the card's button, approves (as `approver`), comes back."""
    card = await say(emu, who, f"direct_{who}", "sign in")
    location = await authorize_as(http, sign_in_url(card), emu.identity(approver or who).id)
    return await open_callback(http, location)


async def signed_in(emu: Emulator, http: aiohttp.ClientSession, who: str) -> None:
    """`who` signs in (the callback answers 200) and is told so in their 1:1 space."""
    assert (await sign_in(emu, http, who))[0] == 200
    await told(emu, who, "You are signed in")
