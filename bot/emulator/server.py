"""The emulator as an aiohttp app on a socket: the /v1 API and the /_emulator control API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from bot.emulator.app import Emulator
from bot.emulator.authorize import authorize_routes
from bot.emulator.control import control_routes
from bot.emulator.controlhub_api import controlhub_routes
from bot.emulator.pipeline import PREFIX
from bot.emulator.routes import ROUTES
from bot.emulator.seed import Seed


def make_app(emulator: Emulator) -> web.Application:
    """The aiohttp application of one emulator."""
    app = web.Application(middlewares=[emulator.changes.middleware])
    app.add_routes(authorize_routes(emulator))  # before the /v1 catch-all
    for method, template in ROUTES:
        app.router.add_route(method, PREFIX + template, emulator.pipeline.handle)
    app.router.add_route("*", PREFIX + "/{tail:.*}", emulator.pipeline.handle)
    app.add_routes(control_routes(emulator))
    app.add_routes(controlhub_routes(emulator))
    app.cleanup_ctx.append(emulator.lifecycle)
    return app


@asynccontextmanager
async def running_emulator(
    seed: Seed | None = None, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> AsyncIterator[Emulator]:
    """Run an Emulator on a real socket; stop it and cancel deliveries on exit."""
    emulator = Emulator(seed, **options)
    runner = web.AppRunner(make_app(emulator), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        emulator.base_url = f"http://{host}:{bound_port}{PREFIX}"
        yield emulator
    finally:
        await emulator.close()
        await runner.cleanup()
