"""create_app(settings): routes, typed state, and the resources that need closing."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
from aiohttp import web

from bot.conversation.events import process
from bot.errors import BotError
from bot.metrics import CONTENT_TYPE
from bot.models import CALLBACK_PATH, WEBHOOK_PATH
from bot.ops.webhooks import sync_webhooks, target_for
from bot.receiving.intake import INTAKE, Intake
from bot.receiving.journal import read_intake
from bot.receiving.webhook import MAX_BODY, receive
from bot.server.callback import make_callback
from bot.server.runner import EventRunner
from bot.server.wiring import StartupError, Wiring, build_wiring
from bot.settings import Settings
from bot.store import InboxEvent, Store
from bot.store.url import intake_path
from bot.webex.gateway import WebexGateway
from bot.webex.signin_flow import SignInFlow

log = logging.getLogger(__name__)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
WIRING: web.AppKey[Wiring] = web.AppKey("wiring")
RUNNER: web.AppKey[EventRunner] = web.AppKey("runner")


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[SETTINGS] = settings
    app.router.add_post(WEBHOOK_PATH, receive)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    if settings.signs_in:
        app.router.add_get(CALLBACK_PATH, make_callback(_sign_in_of))
    app.cleanup_ctx.append(_running)
    return app


async def _running(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # An event makes at most two Webex calls at once (its message and its sender's roles);
    # with fewer connections, calls would queue for one while their timeout runs.
    connector = aiohttp.TCPConnector(limit=2 * settings.MAX_CONCURRENT_EVENTS + 16)
    async with aiohttp.ClientSession(connector=connector) as session:
        store = await _open_store(settings)
        wiring = None
        try:
            wiring = await build_wiring(settings, session, store)
            if settings.PUBLIC_URL:
                await _sync_webhooks(settings, wiring)
        except BaseException:
            if wiring is not None:
                wiring.close()
            await store.close()
            raise
        runner = EventRunner(
            store, wiring.metrics, functools.partial(process, wiring.conversation),
            settings=settings, clock=wiring.clock,
            concurrency=settings.MAX_CONCURRENT_EVENTS,
            lease=timedelta(seconds=settings.INBOX_LEASE_SECONDS),
        )
        app[WIRING] = wiring
        app[RUNNER] = runner
        app[INTAKE] = intake_for(settings, wiring, runner)
        await import_intake(settings, wiring)
        names = asyncio.create_task(wiring.conversation.effects.directory.refresh_forever(),
                                    name="role-and-org-names")
        await runner.sweep()  # resume what a crash or a restart left unfinished
        await runner.start()
        wiring.watch.start()
        log.info("ready: bot %s serves organization %s", wiring.bot_name, wiring.org_id)
        try:
            yield
        finally:
            names.cancel()
            await asyncio.gather(runner.stop(settings.SHUTDOWN_GRACE_SECONDS),
                                 wiring.watch.stop(settings.SHUTDOWN_GRACE_SECONDS))
            wiring.close()
            await store.close()


async def import_intake(settings: Settings, wiring: Wiring) -> None:
    """Bring into the inbox what a receiving process acknowledged (bot/receiving/journal.py)
    but the worker never recorded: it crashed in between. Known keys are skipped."""
    path = intake_path(settings.DATABASE_URL)
    if path is None:
        return
    since = wiring.clock() - settings.inbox_resume_window
    events = await asyncio.to_thread(read_intake, path, since)
    await wiring.store.record_events(events)
    if events:
        log.info("checked %d events the receiving process acknowledged", len(events))


def intake_for(settings: Settings, wiring: Wiring, runner: EventRunner) -> Intake:
    """The receiver in this process hands accepted events straight to this process's runner."""
    return Intake(
        secret=settings.webhook_key, bot_id=wiring.bot_id,
        record=functools.partial(wiring.store.record_event, owner=runner.owner,
                                 lease=runner.lease),
        clock=wiring.clock,
        accept=lambda *received: runner.submit(received[0], InboxEvent.received(*received)),
        count=wiring.metrics.event, signature_failed=wiring.metrics.signature_failures.inc,
    )


async def _sync_webhooks(settings: Settings, wiring: Wiring) -> None:
    """With PUBLIC_URL set, make the bot's webhooks exist, point here and be active."""
    if not settings.WEBEX_WEBHOOK_SECRET:
        raise StartupError("WEBEX_WEBHOOK_SECRET is not set (needed for the webhooks)")
    target = target_for(settings.PUBLIC_URL or "")
    try:
        report = await sync_webhooks(wiring.webex, target,
                                     settings.WEBEX_WEBHOOK_SECRET.get_secret_value())
    except BotError as error:
        raise StartupError(
            f"Could not set up the webhooks at Webex for {target}: {error.described()}"
        ) from None
    log.info("webhooks → %s: %s", target, report.summary())


async def _open_store(settings: Settings) -> Store:
    try:
        return await Store.open(settings.DATABASE_URL)
    except ValueError as error:
        raise StartupError(f"DATABASE_URL: {error}") from None
    except Exception as error:
        raise StartupError(
            f"The database in DATABASE_URL cannot be opened ({type(error).__name__})."
        ) from None


def _sign_in_of(request: web.Request) -> tuple[SignInFlow, WebexGateway] | None:
    wiring = request.app.get(WIRING)
    flow = wiring.conversation.effects.sign_in if wiring else None
    return (flow, wiring.webex) if wiring and flow else None


async def healthz(request: web.Request) -> web.Response:
    """Alive and ready to take events."""
    if WIRING not in request.app:
        return web.json_response({"status": "starting"}, status=503)
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready: the database answers and the admin token is usable."""
    if WIRING not in request.app:
        return web.json_response({"ready": False, "why": "starting"}, status=503)
    wiring = request.app[WIRING]
    problems = []
    if not await wiring.store.ping():
        problems.append("database unreachable")
    if wiring.admin.last_error:
        problems.append(f"admin token: {wiring.admin.last_error}")
    if problems:
        return web.json_response({"ready": False, "why": problems}, status=503)
    return web.json_response({"ready": True})


async def metrics(request: web.Request) -> web.Response:
    if WIRING not in request.app:
        return web.Response(status=503)
    body = request.app[WIRING].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
