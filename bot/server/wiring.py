"""The wiring: every service the bot runs with, built once per app and checked against Webex."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import aiohttp

from bot.clock import utcnow
from bot.compliance.changes import ChangeService
from bot.compliance.coverage import CoverageReader
from bot.conversation.card_tokens import CardTokens
from bot.conversation.context import Conversation, Effects, WatchControl
from bot.conversation.ratelimit import RateLimiter
from bot.conversation.replies import Replier
from bot.errors import BotError
from bot.metrics import Metrics
from bot.models import Person
from bot.receiving.journal_worker import JournalOwnMessages
from bot.server.watch_loop import WatchLoop, build_watch
from bot.settings import Settings
from bot.store import Store
from bot.store.url import intake_path
from bot.webex.auth import AdminAuth, admin_identity
from bot.webex.directory import Directory
from bot.webex.gateway import WebexGateway
from bot.webex.locations import LocationsClient
from bot.webex.pacing import OrgPacer
from bot.webex.rest import WebexRest
from bot.webex.retry import RetryPolicy
from bot.webex.signin_flow import sign_in_flow
from bot.webex.telephony import TelephonyClient


class StartupError(Exception):
    """The bot cannot start; the message says why in one line, without secrets."""


@dataclass(frozen=True)
class Wiring:
    """What the server runs: the outside world's clients, the store, and the conversation."""

    settings: Settings
    org_id: str
    webex: WebexGateway
    store: Store
    metrics: Metrics
    admin: AdminAuth
    conversation: Conversation
    watch: WatchLoop
    clock: Callable[[], datetime] = utcnow

    @property
    def bot_id(self) -> str:
        return self.conversation.bot_id

    @property
    def bot_name(self) -> str:
        return self.conversation.bot_name

    def close(self) -> None:
        self.webex.close()


def own_messages(settings: Settings, store: Store) -> JournalOwnMessages | Store:
    """Where the ids of the bot's own group messages are kept, for a resumed reply to look in:
    on a SQLite file the receiver's `<database>-intake` (the worker writes nothing more per
    reply), else the store."""
    path = intake_path(settings.DATABASE_URL)
    return JournalOwnMessages(path) if path else store


async def build_wiring(
    settings: Settings, session: aiohttp.ClientSession, store: Store
) -> Wiring:
    """Everything the bot needs, checked against Webex: both tokens must be accepted."""
    metrics = Metrics()
    policy = RetryPolicy(max_retries=settings.WEBEX_MAX_RETRIES,
                         retry_after_cap=settings.RETRY_AFTER_CAP_SECONDS)
    admin = admin_identity(settings, session, store)
    if admin is None:
        raise StartupError("WEBEX_ADMIN_TOKEN is not set")
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
    org_id = settings.WEBEX_ORG_ID or admin_me.orgId
    if not org_id:
        webex.close()
        raise StartupError("The admin identity has no organization; set WEBEX_ORG_ID.")
    telephony = TelephonyClient(rest, admin, policy=policy)
    tokens = CardTokens(store, webex, ttl=settings.card_token_ttl, clock=utcnow)
    directory = Directory(webex, org_id, person_ttl=settings.ROLE_CACHE_SECONDS)
    locations = LocationsClient(rest, admin, OrgPacer(settings.WEBEX_MAX_CONCURRENCY),
                                policy=policy)
    coverage = CoverageReader(telephony, locations)
    watch = build_watch(settings, org_id=org_id, store=store, rest=rest, admin=admin,
                        policy=policy, reader=coverage, webex=webex, tokens=tokens,
                        directory=directory, metrics=metrics)  # fmt: skip
    sign_in = sign_in_flow(settings, session, store, rest) if settings.signs_in else None
    acting = sign_in.tokens.auth_for if sign_in else None
    effects = Effects(
        setting=telephony,
        changes=ChangeService(store, telephony, metrics, clock=utcnow,
                              timeout=settings.WEBEX_TIMEOUT_SECONDS, acting=acting,
                              on_change=watch.poke),
        tokens=tokens,
        audit=store,
        directory=directory,
        replies=Replier(webex, store, timeout=settings.WEBEX_TIMEOUT_SECONDS,
                        own=own_messages(settings, store)),
        metrics=metrics,
        clock=utcnow,
        rate_limiter=RateLimiter(store, burst=settings.COMMAND_BURST,
                                 per_minute=settings.COMMAND_RATE_PER_MINUTE, clock=utcnow),
        admin_trouble=lambda: admin.last_error,
        watch=WatchControl(store, settings.WATCH_INTERVAL_SECONDS, watch.poke),
        coverage=coverage,
        locations=locations,
        sign_in=sign_in,
        acting=acting,
    )
    conversation = Conversation(
        bot_id=me.id, bot_name=me.displayName or "the bot", org_id=org_id, webex=webex,
        effects=effects,
    )
    return Wiring(settings=settings, org_id=org_id, webex=webex, store=store, metrics=metrics,
                  admin=admin, conversation=conversation, watch=watch)


async def _identity(call: Awaitable[Person], name: str) -> Person:
    try:
        return await call
    except BotError as error:
        status = getattr(error, "status", None)
        if status == 401 or (status is None and "token" in error.user_message):
            raise StartupError(f"Webex rejected {name} (401): check it and try again.") from None
        raise StartupError(f"Could not read /people/me with {name}: {error.described()}") from None
