"""create_app(settings, services=None): routes, typed state, and the resources that need closing."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import aiohttp
from aiohttp import web

from bot.compliance.changes import ChangeService
from bot.conversation.card_tokens import CardTokens
from bot.conversation.ratelimit import RateLimiter
from bot.conversation.replies import Replier
from bot.errors import BotError
from bot.metrics import CONTENT_TYPE, Metrics
from bot.models import Person
from bot.ops.webhooks import sync_webhooks, target_for
from bot.receiving.intake import Intake
from bot.receiving.journal import read_intake
from bot.receiving.webhook import MAX_BODY, receive
from bot.server.keys import INTAKE, RUNNER, SERVICES, SETTINGS
from bot.server.runner import EventRunner
from bot.server.services import BotIdentity, Services
from bot.settings import Settings
from bot.store import InboxEvent, Store
from bot.store.url import intake_path
from bot.webex.auth import AdminAuth, RefreshingAdminToken, StaticAdminToken
from bot.webex.directory import Directory
from bot.webex.gateway import WebexGateway
from bot.webex.rest import WebexRest
from bot.webex.retry import RetryPolicy
from bot.webex.telephony import TelephonyClient

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The bot cannot start; the message says why in one line, without secrets."""


def create_app(settings: Settings, services: Services | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[SETTINGS] = settings
    app.router.add_post("/webhooks/webex", receive)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.cleanup_ctx.append(_services_ctx(services))
    return app


def _services_ctx(
    given: Services | None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        # An event makes at most two Webex calls at once (its message and its sender's roles);
        # with fewer connections, calls would queue for one while their timeout runs.
        connector = aiohttp.TCPConnector(limit=2 * settings.MAX_CONCURRENT_EVENTS + 16)
        async with aiohttp.ClientSession(connector=connector) as session:
            services = given
            store = None
            try:
                if services is None:
                    store = await _open_store(settings)
                    services = await build_services(settings, session, store)
                if settings.PUBLIC_URL:
                    await _sync_webhooks(settings, services)
            except BaseException:
                if store is not None:
                    if services is not None:
                        services.webex.close()
                    await store.close()
                raise
            runner = EventRunner(
                services, concurrency=settings.MAX_CONCURRENT_EVENTS,
                lease=timedelta(seconds=settings.INBOX_LEASE_SECONDS),
            )
            app[SERVICES] = services
            app[RUNNER] = runner
            app[INTAKE] = intake_for(settings, services, runner)
            await import_intake(settings, services)
            await runner.sweep()  # resume what a crash or a restart left unfinished
            await runner.start()
            log.info("ready: bot %s serves organization %s", services.bot.name,
                     services.target_org)
            try:
                yield
            finally:
                await runner.stop(settings.SHUTDOWN_GRACE_SECONDS)
                services.webex.close()
                if given is None:
                    await services.store.close()

    return ctx


async def import_intake(settings: Settings, services: Services) -> None:
    """Bring into the inbox what a receiving process acknowledged (bot/journal.py) but
    the worker never recorded: it crashed in between. Known keys are skipped."""
    path = intake_path(settings.DATABASE_URL)
    if path is None:
        return
    since = services.clock() - settings.inbox_resume_window
    events = await asyncio.to_thread(read_intake, path, since)
    await services.store.record_events(events)
    if events:
        log.info("checked %d events the receiving process acknowledged", len(events))


def intake_for(settings: Settings, services: Services, runner: EventRunner) -> Intake:
    """The receiver in this process hands accepted events straight to this process's runner."""
    return Intake(
        secret=settings.webhook_key, bot_id=services.bot.id,
        record=functools.partial(services.store.record_event, owner=runner.owner,
                                 lease=runner.lease),
        clock=services.clock,
        accept=lambda *received: runner.submit(received[0], InboxEvent.received(*received)),
        count=services.metrics.event, signature_failed=services.metrics.signature_failures.inc,
    )


async def _sync_webhooks(settings: Settings, services: Services) -> None:
    """With PUBLIC_URL set, make the bot's webhooks exist, point here and be active."""
    if not settings.WEBEX_WEBHOOK_SECRET:
        raise StartupError("WEBEX_WEBHOOK_SECRET is not set (needed for the webhooks)")
    target = target_for(settings.PUBLIC_URL or "")
    try:
        report = await sync_webhooks(services.webex, target,
                                     settings.WEBEX_WEBHOOK_SECRET.get_secret_value())
    except BotError as error:
        raise StartupError(
            f"Could not set up the webhooks at Webex for {target}: {error.user_message} "
            f"(status {getattr(error, 'status', None)}, tracking id {error.tracking_id})"
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


async def build_services(
    settings: Settings, session: aiohttp.ClientSession, store: Store
) -> Services:
    """Everything the bot needs, checked against Webex: both tokens must be accepted."""
    metrics = Metrics()
    policy = RetryPolicy(max_retries=settings.WEBEX_MAX_RETRIES,
                         retry_after_cap=settings.RETRY_AFTER_CAP_SECONDS)
    admin = admin_auth(settings, session, store)
    bot_token = settings.WEBEX_BOT_TOKEN
    if bot_token is None:
        raise StartupError("WEBEX_BOT_TOKEN is not set")
    rest = WebexRest(session, settings.WEBEX_API_URL, timeout=settings.WEBEX_TIMEOUT_SECONDS,
                     observe=metrics.webex_call)
    webex = WebexGateway(bot_token.get_secret_value(), admin, rest=rest, policy=policy)
    try:
        me = await _identity(webex.bot_me(), "WEBEX_BOT_TOKEN")
        admin_me = await _identity(webex.admin_me(), "the admin token")
    except BaseException:
        webex.close()
        raise
    target_org = settings.WEBEX_ORG_ID or admin_me.orgId
    if not target_org:
        webex.close()
        raise StartupError("The admin identity has no organization; set WEBEX_ORG_ID.")
    telephony = TelephonyClient(rest, admin, policy=policy)
    return Services(
        settings=settings,
        bot=BotIdentity(me.id, me.displayName or "the bot"),
        target_org=target_org,
        webex=webex,
        telephony=telephony,
        directory=Directory(webex, target_org, person_ttl=settings.ROLE_CACHE_SECONDS),
        store=store,
        replier=Replier(),
        changes=ChangeService(),
        tokens=CardTokens(store, settings.card_token_ttl),
        metrics=metrics,
        rate_limiter=RateLimiter(settings.COMMAND_RATE_PER_MINUTE),
        admin=admin,
    )


def admin_auth(settings: Settings, session: aiohttp.ClientSession, store: Store) -> AdminAuth:
    if settings.uses_refresh_token:
        assert settings.WEBEX_CLIENT_SECRET and settings.WEBEX_ADMIN_REFRESH_TOKEN
        return RefreshingAdminToken(
            session, settings.WEBEX_API_URL,
            client_id=settings.WEBEX_CLIENT_ID or "",
            client_secret=settings.WEBEX_CLIENT_SECRET.get_secret_value(),
            refresh_token=settings.WEBEX_ADMIN_REFRESH_TOKEN.get_secret_value(),
            secrets=store,
            access_token=(settings.WEBEX_ADMIN_TOKEN.get_secret_value()
                          if settings.WEBEX_ADMIN_TOKEN else None),
            timeout=settings.WEBEX_TIMEOUT_SECONDS,
        )
    if settings.WEBEX_ADMIN_TOKEN is None:
        raise StartupError("WEBEX_ADMIN_TOKEN is not set")
    return StaticAdminToken(settings.WEBEX_ADMIN_TOKEN.get_secret_value())


async def _identity(call: Awaitable[Person], name: str) -> Person:
    try:
        return await call
    except BotError as error:
        status = getattr(error, "status", None)
        if status == 401 or (status is None and "token" in error.user_message):
            raise StartupError(f"Webex rejected {name} (401): check it and try again.") from None
        raise StartupError(
            f"Could not read /people/me with {name}: {error.user_message} "
            f"(status {status}, tracking id {error.tracking_id})"
        ) from None


async def healthz(request: web.Request) -> web.Response:
    """Alive and ready to take events."""
    if SERVICES not in request.app:
        return web.json_response({"status": "starting"}, status=503)
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready: the database answers and the admin token is usable."""
    if SERVICES not in request.app:
        return web.json_response({"ready": False, "why": "starting"}, status=503)
    services = request.app[SERVICES]
    problems = []
    if not await services.store.ping():
        problems.append("database unreachable")
    if services.admin.last_error:
        problems.append(f"admin token: {services.admin.last_error}")
    if problems:
        return web.json_response({"ready": False, "why": problems}, status=503)
    return web.json_response({"ready": True})


async def metrics(request: web.Request) -> web.Response:
    if SERVICES not in request.app:
        return web.Response(status=503)
    body = request.app[SERVICES].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
