"""`check`'s lines about delivery: the bot token, this deployment's webhooks, the public URL.

Without PUBLIC_URL the webhooks cannot be checked against where they should point: that is a ✗
(the bot gets no events without webhooks), and the line lists what exists. Whose a webhook is
comes from the database (bot/webex/webhooks.py); without a usable database only webhooks named
and pointed exactly as this deployment's count. A webhook whose listing shows no secret is a ✗,
and `webhooks sync` puts the secret on it.

The public URL is tried the way Webex delivers: a POST to PUBLIC_URL/webhooks/webex signed with
WEBEX_WEBHOOK_SECRET, whose body is an event of a type the bot does not handle. The bot answers
it 200 "ignored" without recording or doing anything; 401 means the server there has another
secret.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import replace
from typing import Any

import aiohttp

from bot.ops.check_admin import NETWORK_HINT, attempt
from bot.ops.check_base import Line, Probe
from bot.security import SIGNATURE_HEADER, sign
from bot.webex.proxy import environ_proxy
from bot.webex.webhooks import EVENTS, owned, target_for

SYNC_HINT = ("run `python -m bot webhooks sync` (it creates, repoints, reactivates and puts "
             "the secret on this deployment's webhooks)")
PROBE_RESOURCE = "ecnBotCheck"  # no such resource at Webex: the bot ignores it


async def bot_token(probe: Probe) -> list[Line]:
    if probe.settings.WEBEX_BOT_TOKEN is None:
        return []
    me, error = await attempt(probe.webex.bot_me())
    if me is None:
        assert error is not None
        hint = ("WEBEX_BOT_TOKEN is wrong or was regenerated: copy it again from "
                "developer.webex.com → My Webex Apps"
                if getattr(error, "status", 0) == 401 else NETWORK_HINT)
        return [Line(False, "bot token", error.described(), hint)]
    return [Line(True, "bot token", f"valid: {me.displayName} ({me.email or 'no email'})")]


async def webhooks(probe: Probe) -> list[Line]:
    settings = probe.settings
    if settings.WEBEX_BOT_TOKEN is None:
        return []
    hooks, error = await attempt(probe.webex.list_webhooks())
    if hooks is None:
        assert error is not None
        return [Line(False, "webhooks", error.described(), "check WEBEX_BOT_TOKEN")]
    ids = await probe.store.owned_webhook_ids() if probe.store is not None else set()
    target = target_for(settings.PUBLIC_URL) if settings.PUBLIC_URL else None
    mine = owned(hooks, ids, target)
    if target is None:
        found = ", ".join(
            f"{h.get('resource')}/{h.get('event')} → {h.get('targetUrl')} ({h.get('status')})"
            for h in mine) or "none of this deployment's"
        return [Line(False, "webhooks", f"PUBLIC_URL is not set; existing: {found}",
                     "set PUBLIC_URL to the bot's public base URL, then " + SYNC_HINT)]
    secret = settings.WEBEX_WEBHOOK_SECRET
    lines = [_webhook_line(mine, ids, resource, event, target,
                           secret.get_secret_value() if secret else None)
             for resource, event in EVENTS]
    if probe.store is None:  # whose is which is in the database
        lines = [line if line.ok else replace(
                     line, detail=f"{line.detail} (the database cannot be read: only webhooks "
                                  "named and pointed exactly as this deployment's count)")
                 for line in lines]
    return lines


def _webhook_line(mine: list[dict[str, Any]], ids: set[str], resource: str, event: str,
                  target: str, secret: str | None) -> Line:
    label = f"webhook {resource}/{event}"
    these = [h for h in mine if (h.get("resource"), h.get("event")) == (resource, event)]
    if not these:
        return Line(False, label, "missing", SYNC_HINT)
    problems = []
    if len(these) > 1:
        problems.append(f"{len(these)} of them (duplicates deliver every event twice)")
    hook = these[0]
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
    recorded = "" if str(hook.get("id")) in ids else " (not yet recorded: sync adopts it)"
    return Line(True, label, f"active → {target}, with the secret{recorded}")


async def public_url(probe: Probe) -> list[Line]:
    settings = probe.settings
    secret = settings.WEBEX_WEBHOOK_SECRET
    if not settings.PUBLIC_URL or secret is None:
        return []  # the webhooks' or the settings' line already says so
    target = target_for(settings.PUBLIC_URL)
    body = json.dumps({"id": "ecn-bot-check", "name": "ecn-bot check",
                       "resource": PROBE_RESOURCE, "event": "probe",
                       "data": {"id": f"check-{secrets.token_hex(8)}"}}).encode()
    headers = {"Content-Type": "application/json",
               SIGNATURE_HEADER: sign(secret.get_secret_value().encode(), body)}
    label = "public URL"
    try:
        async with probe.session.post(
            target, data=body, headers=headers, proxy=environ_proxy(target),
            timeout=aiohttp.ClientTimeout(total=settings.WEBEX_TIMEOUT_SECONDS),
        ) as reply:
            status, text = reply.status, await reply.text()
    except (TimeoutError, aiohttp.ClientError) as error:
        return [Line(False, label, f"{target} does not answer ({type(error).__name__})",
                     "start the bot there, or fix PUBLIC_URL: Webex delivers to it")]
    if status == 200 and '"ignored"' in text:
        return [Line(True, label, f"{target} answers a signed test event (ignored, as it "
                                  "should be)")]
    if status == 401:
        return [Line(False, label, f"{target} refuses WEBEX_WEBHOOK_SECRET's signature (401)",
                     "the bot serving PUBLIC_URL has another WEBEX_WEBHOOK_SECRET: use one")]
    return [Line(False, label, f"{target} answers {status}, not as this bot does",
                 "PUBLIC_URL must be where `python -m bot serve` is reached from the internet")]
