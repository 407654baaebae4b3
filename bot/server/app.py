"""create_app(settings): routes, typed state, and the resources that need closing."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.conversation.events import process
from bot.errors import BotError
from bot.models import CALLBACK_PATH
from bot.receiving.intake import INTAKE, Intake, with_deadline
from bot.receiving.journal_worker import read_intake
from bot.receiving.spool import Spool, spool_path
from bot.receiving.webhook import public_app
from bot.server.callback import make_callback
from bot.server.ops_listener import HEALTH, Health
from bot.server.runner import EventRunner
from bot.server.shutdown import Deadline
from bot.server.spool_prune import prune_spool_forever, pruned_spool
from bot.server.taking import EVENTS, Events
from bot.server.webhook_watch import WebhookWatch
from bot.server.wiring import StartupError, Wiring, build_wiring
from bot.settings import Settings
from bot.store import InboxEvent, Store
from bot.store.existing import DatabaseNotReady, open_migrated
from bot.store.url import intake_path
from bot.webex.gateway import WebexGateway
from bot.webex.rest import webex_session
from bot.webex.signin_flow import SignInFlow
from bot.webex.webhooks import owned, sync_webhooks, target_for

log = logging.getLogger(__name__)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
WIRING: web.AppKey[Wiring] = web.AppKey("wiring")
RUNNER: web.AppKey[EventRunner] = web.AppKey("runner")
SHUTDOWN: web.AppKey[Deadline] = web.AppKey("shutdown")


def create_app(settings: Settings) -> web.Application:
    """The public port's app: /webhooks/webex, /healthz and, with personal sign-in, its
    callback (/readyz and /metrics are the ops listener's: bot/server/ops_listener.py)."""
    app = public_app()
    app[SETTINGS] = settings
    app[SHUTDOWN] = Deadline(settings.SHUTDOWN_GRACE_SECONDS)  # serve starts it at SIGTERM
    app.router.add_get("/healthz", healthz)
    if settings.signs_in:
        app.router.add_get(CALLBACK_PATH, make_callback(_sign_in_of))
    app.cleanup_ctx.append(_running)
    return app


async def _running(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # An event makes at most two Webex calls at once (its message and its sender's roles);
    # with fewer connections, calls would queue for one while their timeout runs.
    async with webex_session(2 * settings.MAX_CONCURRENT_EVENTS + 16) as session:
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
        await runner.take_over()
        health = Health(store, wiring.metrics, lambda: wiring.admin.last_error,
                        watch=_webhook_watch(settings, wiring, store))
        spool = Spool(spool_path(settings), health.recording)
        events = Events(runner, store, wiring.metrics, health,
                        window=settings.inbox_resume_window, clock=wiring.clock,
                        journal=spool_path(settings))
        app[WIRING] = wiring
        app[RUNNER] = runner
        app[EVENTS] = events
        app[INTAKE] = intake_for(settings, wiring, events, spool, runner)
        await import_intake(settings, wiring)
        directory = wiring.conversation.effects.directory
        await directory.warm()
        names = asyncio.create_task(directory.refresh_forever(), name="role-and-org-names")
        await runner.sweep()  # resume what a crash or a restart left unfinished
        await runner.start()
        wiring.watch.start()
        health.start()
        watching = asyncio.create_task(health.watch.forever(settings.WEBHOOK_CHECK_SECONDS),
                                       name="webhook-watch") if health.watch else None
        spooled = pruned_spool(settings)
        pruning = asyncio.create_task(prune_spool_forever(
            spooled, store, wiring.clock, settings.inbox_resume_window),
            name="spool-prune") if spooled else None
        app[HEALTH] = health
        log.info("ready: bot %s serves organization %s", wiring.bot_name, wiring.org_id)
        try:
            yield
        finally:
            names.cancel()
            for task in (watching, pruning):
                if task is not None:
                    task.cancel()
            await health.stop()
            deadline = app[SHUTDOWN]
            # Not cut short itself: once the work is stopped, its steps must be recorded.
            work = deadline.for_work()
            await asyncio.gather(runner.stop(work), wiring.watch.stop(work))
            await events.close(deadline.left())
            spool.close()
            wiring.close()
            await deadline.bounded(store.close(), "closing the database")


async def import_intake(settings: Settings, wiring: Wiring) -> None:
    """Bring into the inbox what a receiving process acknowledged (bot/receiving/journal.py)
    but the worker never recorded: it crashed in between. Known keys are skipped. (Also what
    a spool file kept while the database was down.)"""
    path = spool_path(settings)
    if path is None:
        return
    since = wiring.clock() - settings.inbox_resume_window
    events = await asyncio.to_thread(read_intake, path, since)
    await wiring.store.record_events(events)
    if events:
        log.info("checked %d events the receiving process acknowledged", len(events))


def intake_for(settings: Settings, wiring: Wiring, events: Events, spool: Spool,
               runner: EventRunner) -> Intake:
    """The receiver in this process hands accepted events straight to this process's runner."""
    return Intake(
        secret=settings.webhook_key, bot_id=wiring.bot_id,
        record=with_deadline(functools.partial(wiring.store.record_event, owner=runner.owner,
                                               lease=runner.lease)),
        clock=wiring.clock,
        accept=lambda *received, spooled: events.take(InboxEvent.received(*received),
                                                      journaled=spooled),
        count=wiring.metrics.event, signature_failed=wiring.metrics.signature_failures.inc,
        max_age=settings.inbox_resume_window, spool=spool,
        # Where the lookup reads them (bot/server/wiring.py own_messages).
        remember_own=(spool.keep_own if intake_path(settings.DATABASE_URL)
                      else wiring.store.record_own_message),
    )


def _webhook_watch(settings: Settings, wiring: Wiring, store: Store) -> WebhookWatch | None:
    """This deployment's webhooks are looked after when it knows their secret."""
    if not settings.WEBEX_WEBHOOK_SECRET:
        return None
    target = target_for(settings.PUBLIC_URL) if settings.PUBLIC_URL else None

    async def own(hooks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """This deployment's among the webhooks the token lists: recorded in its database by
        id (bot/webex/webhooks.py), or exactly what it makes for PUBLIC_URL."""
        return owned(hooks, await store.owned_webhook_ids(), target)

    return WebhookWatch(wiring.webex, settings.WEBEX_WEBHOOK_SECRET.get_secret_value(),
                        wiring.metrics, own=own)


async def _sync_webhooks(settings: Settings, wiring: Wiring) -> None:
    """With PUBLIC_URL set, make this deployment's webhooks (those its database records, see
    bot/webex/webhooks.py) exist, point here and be active; no other webhook is touched."""
    if not settings.WEBEX_WEBHOOK_SECRET:
        raise StartupError("WEBEX_WEBHOOK_SECRET is not set (needed for the webhooks)")
    target = target_for(settings.PUBLIC_URL or "")
    try:
        report = await sync_webhooks(wiring.webex, wiring.store, target,
                                     settings.WEBEX_WEBHOOK_SECRET.get_secret_value(),
                                     clock=wiring.clock)
    except BotError as error:
        raise StartupError(
            f"Could not set up the webhooks at Webex for {target}: {error.described()}"
        ) from None
    log.info("webhooks → %s: %s", target, report.summary())


async def _open_store(settings: Settings) -> Store:
    try:
        return await open_migrated(settings.DATABASE_URL)
    except DatabaseNotReady as error:
        raise StartupError(str(error)) from None


def _sign_in_of(request: web.Request) -> tuple[SignInFlow, WebexGateway] | None:
    wiring = request.app.get(WIRING)
    flow = wiring.conversation.effects.sign_in if wiring else None
    return (flow, wiring.webex) if wiring and flow else None


async def healthz(request: web.Request) -> web.Response:
    """Alive and ready to take events."""
    if WIRING not in request.app:
        return web.json_response({"status": "starting"}, status=503)
    return web.json_response({"status": "ok"})


