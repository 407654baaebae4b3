"""Tests of the Webex emulator; shared fixtures live here (imported by each test module)."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.emulator import Emulator, running_emulator


def auth(token: str) -> dict[str, str]:
    """Return the Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Receiver:
    """A tiny webhook target on a real socket that keeps what it was sent."""

    url: str = ""
    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: asyncio.Queue[tuple[dict[str, str], bytes]] = field(default_factory=asyncio.Queue)

    async def next(self, timeout: float = 3.0) -> tuple[dict[str, str], bytes]:
        """Return the next delivery (headers, raw body)."""
        return await asyncio.wait_for(self.arrived.get(), timeout)

    async def nothing_more(self, emu: Emulator) -> bool:
        """Return True when every delivery has landed and none is waiting unread."""
        await emu.idle()
        return self.arrived.empty()


@pytest.fixture(name="emu")
async def emu_fixture() -> AsyncIterator[Emulator]:
    """A running emulator that also checks its responses against the OpenAPI text."""
    async with running_emulator(check_responses=True) as emulator:
        yield emulator


@pytest.fixture(name="http")
async def http_fixture() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(name="receiver")
async def receiver_fixture() -> AsyncIterator[Receiver]:
    """A webhook receiver answering 200 (change .status to make deliveries fail)."""
    box = Receiver()

    async def handle(request: web.Request) -> web.Response:
        item = (dict(request.headers), await request.read())
        box.received.append(item)
        box.arrived.put_nowait(item)
        return web.Response(status=box.status)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    box.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield box
    finally:
        await runner.cleanup()


async def call(
    http: aiohttp.ClientSession,
    emu: Emulator,
    method: str,
    path: str,
    token: str | None = None,
    **kwargs: Any,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    """Make one API call; return (status, parsed JSON or raw text, response)."""
    headers = {**(auth(token) if token else {}), **kwargs.pop("headers", {})}
    async with http.request(method, emu.base_url + path, headers=headers, **kwargs) as response:
        text = await response.text()
        try:
            body: Any = await response.json(content_type=None) if text else text
        except ValueError:
            body = text
        return response.status, body, response


async def authorize_as(
    http: aiohttp.ClientSession, authorize_url: str, person_id: str, *, deny: bool = False
) -> str:
    """What a person's browser does on Webex's authorize page: open it, press their button
    (or Deny); returns where Webex redirects the browser (the Location header)."""
    async with http.get(authorize_url) as page:
        assert page.status == 200, await page.text()
        text = await page.text()
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', text))
    form = {k: html.unescape(v) for k, v in form.items()}
    form.update({"decision": "deny"} if deny else {"person": person_id})
    target = authorize_url.split("?", 1)[0]
    async with http.post(target, data=form, allow_redirects=False) as reply:
        assert reply.status == 302, await reply.text()
        return reply.headers["Location"]


__all__ = ["Receiver", "auth", "authorize_as", "call", "emu_fixture", "http_fixture",
           "receiver_fixture"]


def card(button: str) -> dict[str, Any]:
    """The smallest Adaptive Card attachment Webex accepts: one Submit button."""
    return {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "content": {
            "type": "AdaptiveCard",
            "version": "1.3",
            "body": [],
            "actions": [{"type": "Action.Submit", "title": button}],
        },
    }
