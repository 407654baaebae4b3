"""A sign-in flow wired to a running emulator and a real store (SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from bot.emulator import Emulator, running_emulator
from bot.models import Person
from bot.sealing import Sealer, generate_key
from bot.store import Store
from bot.webex.oauth import TokenEndpoint
from bot.webex.personal import PersonalTokens
from bot.webex.rest import WebexRest
from bot.webex.signin_flow import SignInFlow
from tests.emulator import authorize_as

REDIRECT = "https://bot.example/oauth/callback"


@dataclass
class Rig:
    emu: Emulator
    http: aiohttp.ClientSession
    store: Store
    tokens: PersonalTokens
    flow: SignInFlow
    rest: WebexRest
    key: str

    async def browser(self, who: str, url: str, *, deny: bool = False) -> dict[str, str]:
        """The person opens the URL, approves (or denies); the callback's query."""
        location = await authorize_as(self.http, url, self.emu.identity(who).id, deny=deny)
        assert location.startswith(REDIRECT + "?")
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    async def sign_in(self, asker: str, approver: str | None = None) -> str:
        """A whole sign-in: `asker` starts it, `approver` (default the same) approves."""
        started = await self.flow.start(self.emu.identity(asker).id, None)
        answer = await self.browser(approver or asker, started.url)
        outcome = await self.flow.finish(answer["state"], answer.get("code", ""), "")
        return outcome.kind


def build(emu: Emulator, http: aiohttp.ClientSession, store: Store, key: str) -> Rig:
    seed = emu.seed
    sealer = Sealer(key)
    endpoint = TokenEndpoint(http, emu.base_url, client_id=seed.integration_client_id,
                             client_secret=seed.integration_client_secret)
    rest = WebexRest(http, emu.base_url)
    tokens = PersonalTokens(store, sealer, endpoint, rest)

    async def whose(token: str) -> Person:
        return Person.model_validate(
            await rest.request("GET", "/people/me", token, endpoint="GET /people/me"))

    flow = SignInFlow(store, tokens, endpoint, sealer, api_url=emu.base_url,
                      client_id=seed.integration_client_id, redirect_uri=REDIRECT, whose=whose)
    return Rig(emu, http, store, tokens, flow, rest, key)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with running_emulator() as emu, aiohttp.ClientSession() as http:
        store = await Store.open(f"sqlite:///{tmp_path / 'bot.db'}")
        try:
            yield build(emu, http, store, generate_key())
        finally:
            await store.close()
