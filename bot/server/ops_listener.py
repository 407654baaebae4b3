"""The operator's port, OPS_HOST:OPS_PORT (default 127.0.0.1:9091): /readyz and /metrics, kept
off the public webhook port (which has /webhooks/webex and /healthz only).

/readyz answers from state kept fresh in the background (a database round trip every
READY_REFRESH_SECONDS, the webhook watch, what the receiver reports of its recording), so a
flood of readiness probes costs the database nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from bot.metrics import CONTENT_TYPE, Metrics
from bot.server.webhook_watch import WebhookWatch
from bot.store import Store

log = logging.getLogger(__name__)
READY_REFRESH_SECONDS = 2.0


@dataclass
class Health:
    """What /readyz says, kept current by the background and by the receiver's reports."""

    store: Store
    metrics: Metrics
    admin_error: Callable[[], str | None]
    watch: WebhookWatch | None = None
    database_ok: bool = True
    recording_failing: bool = False
    _refresher: asyncio.Task[None] | None = field(default=None, repr=False)

    def problems(self) -> list[str]:
        found = []
        if not self.database_ok:
            found.append("database unreachable")
        if self.recording_failing:
            found.append("webhooks cannot be recorded in the inbox (they are spooled)")
        if self.watch is not None and self.watch.inactive:
            found.append(f"webhooks inactive at Webex: {', '.join(self.watch.inactive)}")
        if error := self.admin_error():
            found.append(f"admin token: {error}")
        return found

    def recording(self, failing: bool) -> None:
        self.recording_failing = failing
        self.metrics.recording_failing.set(int(failing))

    async def refresh(self) -> None:
        self.database_ok = await self.store.ping()

    def start(self) -> None:
        self._refresher = asyncio.create_task(self._refresh_forever(), name="readiness")

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(READY_REFRESH_SECONDS)
            await self.refresh()


HEALTH: web.AppKey[Health] = web.AppKey("health")  # on the main app, once it runs


def create_ops_app(main: web.Application) -> web.Application:
    """/readyz and /metrics of the bot running as `main`."""
    app = web.Application()

    async def readyz(_: web.Request) -> web.Response:
        health = main.get(HEALTH)
        if health is None:
            return web.json_response({"ready": False, "why": ["starting"]}, status=503)
        problems = health.problems()
        if problems:
            return web.json_response({"ready": False, "why": problems}, status=503)
        return web.json_response({"ready": True})

    async def metrics(_: web.Request) -> web.Response:
        health = main.get(HEALTH)
        if health is None:
            return web.Response(status=503)
        return web.Response(body=health.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


async def start_ops_listener(main: web.Application, host: str, port: int) -> web.AppRunner:
    """The ops app served on host:port until the returned runner's cleanup (OSError if it
    cannot listen there)."""
    runner = web.AppRunner(create_ops_app(main), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
