"""The bot under test: the real app on a real socket, wired to the emulator by real webhooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.emulator import Emulator
from bot.server.app import RUNNER, WIRING, create_app
from bot.settings import Settings
from bot.store import Store

SECRET = "test-webhook-secret-0123456789"
RESOURCES = (("messages", "created"), ("attachmentActions", "created"),
             ("memberships", "created"))


def bot_settings(emu: Emulator, db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "WEBEX_BOT_TOKEN": emu.seed.bot_token,
        "WEBEX_ADMIN_TOKEN": emu.seed.admin_token,
        "WEBEX_WEBHOOK_SECRET": SECRET,
        "WEBEX_API_URL": emu.base_url,
        "WEBEX_ORG_ID": None,
        "DATABASE_URL": db_url,
        "HOST": "127.0.0.1",
        "PORT": 0,
        "WEBEX_TIMEOUT_SECONDS": 2.0,
        "RETRY_AFTER_CAP_SECONDS": 5.0,
        "INBOX_LEASE_SECONDS": 2.0,
        "SHUTDOWN_GRACE_SECONDS": 5.0,
        "COMMAND_RATE_PER_MINUTE": 1000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class RunningBot:
    url: str
    app: web.Application
    settings: Settings

    @property
    def store(self) -> Store:
        return self.app[WIRING].store

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhooks/webex"

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until no event is queued or running."""
        runner = self.app[RUNNER]
        deadline = asyncio.get_running_loop().time() + timeout
        while runner.busy:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the bot is still busy")
            await asyncio.sleep(0.02)


async def register_webhooks(emu: Emulator, target: str, secret: str = SECRET) -> None:
    """Create the bot's webhooks the way the bot's owner would: POST /webhooks with its token."""
    headers = {"Authorization": f"Bearer {emu.seed.bot_token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for resource, event in RESOURCES:
            body = {"name": f"ecn-bot {resource}", "targetUrl": target, "resource": resource,
                    "event": event, "secret": secret}
            async with http.post(f"{emu.base_url}/webhooks", json=body) as reply:
                assert reply.status == 200, await reply.text()


@asynccontextmanager
async def running_bot(
    emu: Emulator, tmp_path: Path, *, webhooks: bool = True, port: int = 0, **overrides: Any
) -> AsyncIterator[RunningBot]:
    db_url = overrides.pop("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    settings = bot_settings(emu, db_url, **overrides)
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    port = runner.addresses[0][1]
    bot = RunningBot(f"http://127.0.0.1:{port}", app, settings)
    if webhooks:
        await register_webhooks(emu, bot.webhook_url)
    try:
        yield bot
    finally:
        await runner.cleanup()
