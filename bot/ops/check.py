"""`python -m bot check`: one ✓/✗/? line per thing the bot needs, a hint under every ✗ and ?.

The checks are the table CHECKS, in the order an operator fixes things; each reads the Probe
(what earlier ones learned) and returns its lines. Nothing is changed in Webex: every call is a
read (the admin token is refreshed only when the stored one expired, as `serve` would), and
the public URL is tried with a signed test event of a type the bot ignores. The database is
never created or migrated. A check that fails in a way nobody foresaw is a ✗ line naming the
error, never a traceback. Exit status: 0 when no line is ✗ (? lines ask the operator to confirm
what Webex does not show), 1 otherwise. Never prints a token or a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.ops.check_admin import (
    admin_token,
    organization,
    roles_readable,
    setting_readable,
    setting_writable,
)
from bot.ops.check_base import Line, Probe
from bot.ops.check_delivery import bot_token, public_url, webhooks
from bot.ops.check_signin import sign_in_lines
from bot.settings import Settings
from bot.store import LATEST_VERSION
from bot.store.existing import DatabaseNotReady, open_existing
from bot.webex.rest import webex_session

log = logging.getLogger(__name__)
Check = Callable[[Probe], Awaitable[list[Line]]]
SETTING_HINTS = {
    "WEBEX_BOT_TOKEN": "the bot's access token, from developer.webex.com → My Webex Apps",
    "WEBEX_ADMIN_TOKEN": "set it, or WEBEX_CLIENT_ID, WEBEX_CLIENT_SECRET and "
                         "WEBEX_ADMIN_REFRESH_TOKEN of the Service App",
    "WEBEX_WEBHOOK_SECRET": "any long random string: "
                            'python -c "import secrets; print(secrets.token_hex(32))"',
}


async def required_settings(probe: Probe) -> list[Line]:
    return [Line(False, name, "not set", SETTING_HINTS[name])
            for name in probe.settings.missing_for_serve()]


async def database(probe: Probe) -> list[Line]:
    label = "database"
    try:
        store, version = await open_existing(probe.settings.DATABASE_URL)
    except DatabaseNotReady as error:
        return [Line(False, label, str(error),
                     "check DATABASE_URL (sqlite:///file.db, sqlite:////abs/file.db or "
                     "postgresql://…), that the database server is up, and start serve once")]
    if version != LATEST_VERSION:
        await store.close()
        hint = ("start `python -m bot serve` once: it migrates the database at start"
                if version < LATEST_VERSION else "deploy the newer version of the bot")
        return [Line(False, label, f"schema v{version}, this code needs v{LATEST_VERSION}", hint)]
    probe.store = store
    return [Line(True, label, f"reachable, schema v{version} (latest)")]


async def sign_in(probe: Probe) -> list[Line]:
    return await sign_in_lines(probe.settings, probe.session)


# The table: one entry per check, in the order an operator fixes things.
CHECKS: tuple[tuple[str, Check], ...] = (
    ("settings", required_settings),
    ("database", database),
    ("bot token", bot_token),
    ("admin token", admin_token),
    ("organization", organization),
    ("setting readable", setting_readable),
    ("setting writable", setting_writable),
    ("roles readable", roles_readable),
    ("webhooks", webhooks),
    ("public URL", public_url),
    ("sign-in", sign_in),
)


async def run_check(settings: Settings) -> int:
    """Check everything, print one line each, return 0 when no line fails."""
    lines = await collect(settings)
    for line in lines:
        print(line.render(), flush=True)
    failed = sum(line.ok is False for line in lines)
    unsure = sum(line.ok is None for line in lines)
    to_confirm = f", {unsure} to confirm" if unsure else ""
    print(f"\n{len(lines) - failed - unsure} ok, {failed} failing{to_confirm}", flush=True)
    return 1 if failed else 0


async def collect(settings: Settings) -> list[Line]:
    """Every check's lines, in the table's order."""
    lines: list[Line] = []
    async with webex_session() as session:
        probe = Probe(settings, session)
        try:
            for label, check in CHECKS:
                lines.extend(await _guarded(label, check, probe))
        finally:
            await probe.close()
    return lines


async def _guarded(label: str, check: Check, probe: Probe) -> list[Line]:
    try:
        return await check(probe)
    except Exception as error:  # a check must end in a line, whatever went wrong
        log.debug("check %s failed", label, exc_info=True)
        return [Line(False, label, f"could not be checked ({type(error).__name__})",
                     "run again with LOG_LEVEL=DEBUG for the detail")]
