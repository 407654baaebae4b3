"""`python -m bot check`: one ✓/✗ line per thing the bot needs, a hint under every ✗.

Exit status 0 when everything holds, 1 otherwise. Never prints a token or a secret. Without
PUBLIC_URL the webhooks cannot be checked against where they should point: that is a ✗ (the bot
gets no events without webhooks), and the line lists what exists. A webhook whose listing shows
no secret is a ✗: Webex shows the secret of a webhook that has one.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import aiohttp

from bot.errors import AdminTokenError, BotError
from bot.ops.check_signin import sign_in_lines
from bot.ops.lines import Line
from bot.ops.webhooks import EVENTS, is_own, target_for
from bot.sealing import MemorySecrets
from bot.settings import Settings
from bot.store import LATEST_VERSION, Store
from bot.webex.auth import AdminAuth, admin_identity
from bot.webex.gateway import WebexGateway
from bot.webex.rest import WebexRest
from bot.webex.retry import RetryPolicy
from bot.webex.telephony import TelephonyClient

log = logging.getLogger(__name__)
T = TypeVar("T")
DATABASE_TIMEOUT = 10.0
SYNC_HINT = "run `python -m bot webhooks sync` (it creates, repoints and reactivates them)"


async def run_check(settings: Settings) -> int:
    """Check everything, print one line each, return 0 when all is well."""
    lines = await collect(settings)
    for line in lines:
        print(line.render(), flush=True)
    failed = sum(not line.ok for line in lines)
    print(f"\n{len(lines) - failed} ok, {failed} failing", flush=True)
    return 1 if failed else 0


async def collect(settings: Settings) -> list[Line]:
    """Every check's line, in the order an operator fixes them."""
    lines = _missing_settings(settings)
    store, db_line = await _database(settings)
    lines.append(db_line)
    try:
        async with aiohttp.ClientSession() as session:
            lines.extend(await _webex_checks(settings, session, store))
            lines.extend(await sign_in_lines(settings, session))
    finally:
        if store is not None:
            await store.close()
    return lines


def _missing_settings(settings: Settings) -> list[Line]:
    lines = []
    if settings.WEBEX_BOT_TOKEN is None:
        lines.append(
            Line(
                False,
                "WEBEX_BOT_TOKEN",
                "not set",
                "the bot's access token, from developer.webex.com → My Webex Apps",
            )
        )
    if settings.WEBEX_ADMIN_TOKEN is None and not settings.uses_refresh_token:
        lines.append(
            Line(
                False,
                "WEBEX_ADMIN_TOKEN",
                "not set",
                "set it, or WEBEX_CLIENT_ID, WEBEX_CLIENT_SECRET and "
                "WEBEX_ADMIN_REFRESH_TOKEN of the Service App",
            )
        )
    if settings.WEBEX_WEBHOOK_SECRET is None:
        lines.append(
            Line(
                False,
                "WEBEX_WEBHOOK_SECRET",
                "not set",
                'any long random string: python -c "import secrets; print(secrets.token_hex(32))"',
            )
        )
    return lines


async def _database(settings: Settings) -> tuple[Store | None, Line]:
    label = "database"
    try:
        store = await Store.open(settings.DATABASE_URL, migrate=False)
    except ValueError as error:
        return None, Line(
            False,
            label,
            f"DATABASE_URL: {error}",
            "sqlite:///file.db, sqlite:////abs/file.db or postgresql://…",
        )
    try:
        version = await asyncio.wait_for(store.schema_version(), DATABASE_TIMEOUT)
    except Exception as error:  # any failure to answer is "unreachable" to the operator
        await store.close()
        return None, Line(
            False,
            label,
            f"unreachable ({type(error).__name__})",
            "check DATABASE_URL and that the database server is up",
        )
    if version == LATEST_VERSION:
        return store, Line(True, label, f"reachable, schema v{version} (latest)")
    if version > LATEST_VERSION:
        return store, Line(
            False,
            label,
            f"schema v{version} is newer than this code (v{LATEST_VERSION})",
            "deploy the newer version of the bot",
        )
    return store, Line(
        False,
        label,
        f"schema v{version}, this code needs v{LATEST_VERSION}",
        "start `python -m bot serve` once: it migrates the database at start",
    )


async def _webex_checks(
    settings: Settings, session: aiohttp.ClientSession, store: Store | None
) -> list[Line]:
    bot_token = settings.WEBEX_BOT_TOKEN
    has_admin = settings.WEBEX_ADMIN_TOKEN is not None or settings.uses_refresh_token
    # The same admin identity `serve` builds.
    admin: AdminAuth | None = (
        admin_identity(settings, session, store or MemorySecrets()) if has_admin else None
    )
    policy = RetryPolicy(
        max_retries=min(settings.WEBEX_MAX_RETRIES, 1),
        retry_after_cap=min(settings.RETRY_AFTER_CAP_SECONDS, 5.0),
    )
    rest = WebexRest(session, settings.WEBEX_API_URL, timeout=settings.WEBEX_TIMEOUT_SECONDS)
    webex = WebexGateway(bot_token.get_secret_value() if bot_token else "", admin, rest=rest,
                         policy=policy)
    lines: list[Line] = []
    try:
        if bot_token is not None:
            lines.append(await _bot_token(webex))
        if admin is not None:
            lines.extend(await _admin_checks(settings, rest, webex, admin, policy))
        if bot_token is not None:
            lines.extend(await _webhooks(settings, webex))
    finally:
        webex.close()
    return lines


async def _attempt(call: Awaitable[T]) -> tuple[T | None, BotError | None]:
    try:
        return await call, None
    except BotError as error:
        return None, error


async def _bot_token(webex: WebexGateway) -> Line:
    me, error = await _attempt(webex.bot_me())
    if me is None:
        assert error is not None
        hint = (
            "WEBEX_BOT_TOKEN is wrong or was regenerated: copy it again from "
            "developer.webex.com → My Webex Apps"
            if getattr(error, "status", 0) == 401
            else "check WEBEX_API_URL and the network to Webex"
        )
        return Line(False, "bot token", error.described(), hint)
    email = me.emails[0] if me.emails else "no email"
    return Line(True, "bot token", f"valid: {me.displayName} ({email})")


async def _admin_checks(
    settings: Settings,
    rest: WebexRest,
    webex: WebexGateway,
    admin: AdminAuth,
    policy: RetryPolicy,
) -> list[Line]:
    how = "refreshed with the Service App" if admin.can_refresh else "WEBEX_ADMIN_TOKEN"
    me, error = await _attempt(webex.admin_me())
    if me is None:
        assert error is not None
        if isinstance(error, AdminTokenError) and admin.can_refresh:
            hint = (
                "the refresh token was revoked or expired: a Full Administrator authorizes "
                "the Service App again in Control Hub; set the new WEBEX_ADMIN_REFRESH_TOKEN"
            )
        elif isinstance(error, AdminTokenError):
            hint = (
                "WEBEX_ADMIN_TOKEN expired or was revoked: get a new one, or configure "
                "the Service App's refresh token so the bot renews it"
            )
        else:
            hint = "check WEBEX_API_URL and the network to Webex"
        detail = admin.last_error or error.described()
        return [Line(False, "admin token", detail, hint)]
    email = me.emails[0] if me.emails else "no email"
    lines = [Line(True, "admin token", f"valid ({how}): {me.displayName} ({email})")]
    org_id = settings.WEBEX_ORG_ID or me.orgId
    if not org_id:
        return [
            *lines,
            Line(
                False, "organization", "the admin identity has no organization", "set WEBEX_ORG_ID"
            ),
        ]
    org, error = await _attempt(webex.get_organization(org_id))
    if org is None:
        assert error is not None
        lines.append(
            Line(
                False,
                "organization",
                f"{org_id}: {error.described()}",
                "check WEBEX_ORG_ID and the scope spark-admin:organizations_read",
            )
        )
    else:
        lines.append(Line(True, "organization", f"{org.displayName} ({org.id})"))
    telephony = TelephonyClient(rest, admin, policy=policy)
    setting, error = await _attempt(telephony.get(org_id))
    if setting is None:
        assert error is not None
        lines.append(
            Line(
                False,
                "setting readable",
                error.described(),
                "the admin identity needs spark-admin:telephony_config_read and an "
                "administrator role in the organization, which needs Webex Calling",
            )
        )
    else:
        lines.append(Line(True, "setting readable", _describe_setting(setting)))
    roles, error = await _attempt(webex.list_roles())
    if roles is None:
        assert error is not None
        lines.append(
            Line(
                False,
                "roles readable",
                error.described(),
                "the admin identity needs spark-admin:roles_read",
            )
        )
    else:
        names = sorted(r.name for r in roles if "Administrator" in r.name)
        lines.append(Line(True, "roles readable", f"{len(roles)} roles ({', '.join(names)})"))
    return lines


def _describe_setting(setting: Any) -> str:
    state = "on" if setting.enabled else "OFF"
    every = "on" if setting.all_locations else "off"
    return f"notifications {state}, to {setting.email or '(no address)'}, all locations {every}"


async def _webhooks(settings: Settings, webex: WebexGateway) -> list[Line]:
    hooks, error = await _attempt(webex.list_webhooks())
    if hooks is None:
        assert error is not None
        return [Line(False, "webhooks", error.described(), "check WEBEX_BOT_TOKEN")]
    own = [h for h in hooks if is_own(h)]
    if not settings.PUBLIC_URL:
        found = (
            ", ".join(
                f"{h.get('resource')}/{h.get('event')} → {h.get('targetUrl')} ({h.get('status')})"
                for h in own
            )
            or "none of this bot's"
        )
        return [
            Line(
                False,
                "webhooks",
                f"PUBLIC_URL is not set; existing: {found}",
                "set PUBLIC_URL to the bot's public base URL, then " + SYNC_HINT,
            )
        ]
    target = target_for(settings.PUBLIC_URL)
    secret = settings.WEBEX_WEBHOOK_SECRET
    return [
        _webhook_line(own, resource, event, target, secret.get_secret_value() if secret else None)
        for resource, event in EVENTS
    ]


def _webhook_line(
    own: list[dict[str, Any]], resource: str, event: str, target: str, secret: str | None
) -> Line:
    label = f"webhook {resource}/{event}"
    mine = [h for h in own if (h.get("resource"), h.get("event")) == (resource, event)]
    if not mine:
        return Line(False, label, "missing", SYNC_HINT)
    problems = []
    if len(mine) > 1:
        problems.append(f"{len(mine)} of them (duplicates deliver every event twice)")
    hook = mine[0]
    if hook.get("status") != "active":
        problems.append(f"status {hook.get('status')} (Webex stopped delivering)")
    if hook.get("targetUrl") != target:
        problems.append(f"points at {hook.get('targetUrl')}, not {target}")
    shown = hook.get("secret")
    if not shown:  # Webex shows a webhook's secret when it has one
        problems.append("has no secret (its deliveries cannot be verified)")
    elif secret and not hmac.compare_digest(str(shown).encode(), secret.encode()):
        problems.append("its secret is not WEBEX_WEBHOOK_SECRET")
    if problems:
        return Line(False, label, "; ".join(problems), SYNC_HINT)
    return Line(True, label, f"active → {target}, with the secret")
