"""The bot's own webhooks at Webex: sync (create, update, reactivate, de-duplicate), list, delete.

The bot recognizes its webhooks by name: `ecn-bot <resource>/<event>`. Anything else the bot's
token can see (another name, another owner) is never changed or deleted.

The secret: Webex's webhook resource carries `secret` in its documented responses, so when a
listing shows it, sync compares it (in constant time) and puts the current one when it differs.
When a listing does not show it, sync cannot tell: it assumes the secret is current, and sends the
configured secret with every update it makes anyway (a changed URL or a reactivation). To force a
new secret onto a webhook that shows none, run `webhooks delete` then `webhooks sync`.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.errors import BotError
from bot.models import WEBHOOK_PATH, WEBHOOKS
from bot.settings import Settings
from bot.webex.gateway import WebexGateway, standalone_gateway
from bot.webex.retry import RetryPolicy

log = logging.getLogger(__name__)
PREFIX = "ecn-bot "
EVENTS = WEBHOOKS


def webhook_name(resource: str, event: str) -> str:
    """The name the bot gives its webhook for one resource/event."""
    return f"{PREFIX}{resource}/{event}"


def is_own(hook: dict[str, Any]) -> bool:
    """Whether the bot created this webhook (recognized by its name)."""
    return str(hook.get("name") or "").startswith(PREFIX)


def target_for(public_url: str) -> str:
    """Where Webex should deliver events for a bot served at `public_url`."""
    return public_url.rstrip("/") + WEBHOOK_PATH


@dataclass
class SyncReport:
    """What a sync did, one (action, name, id) entry per webhook it looked at."""

    actions: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, action: str, hook: dict[str, Any]) -> None:
        self.actions.append((action, str(hook.get("name")), str(hook.get("id"))))

    def count(self, action: str) -> int:
        return sum(1 for a, _, _ in self.actions if a == action)

    @property
    def changed(self) -> bool:
        return any(a != "unchanged" for a, _, _ in self.actions)

    def lines(self) -> list[str]:
        return [f"{action:<12} {name}  ({hook_id})" for action, name, hook_id in self.actions]

    def summary(self) -> str:
        order = ("created", "updated", "reactivated", "deleted", "unchanged")
        parts = [f"{self.count(a)} {a}" for a in order if self.count(a)]
        return ", ".join(parts) or "nothing to do"


def _secret_differs(hook: dict[str, Any], secret: str) -> bool:
    shown = hook.get("secret")
    if not shown:
        return False  # Webex did not show it: it cannot be compared (see the module docstring)
    return not hmac.compare_digest(str(shown).encode(), secret.encode())


def _pick(candidates: list[dict[str, Any]], name: str, target: str) -> dict[str, Any]:
    """The webhook to keep among our ones for one event: the most nearly right, then the oldest."""

    def score(hook: dict[str, Any]) -> tuple[int, int, int, str]:
        return (
            hook.get("targetUrl") != target,
            hook.get("status") != "active",
            hook.get("name") != name,
            str(hook.get("created") or ""),
        )

    return min(candidates, key=score)


async def sync_webhooks(webex: WebexGateway, target_url: str, secret: str) -> SyncReport:
    """Make exactly one active webhook of ours per event, pointing at `target_url` with `secret`."""
    report = SyncReport()
    hooks = [h for h in await webex.list_webhooks() if is_own(h)]
    wanted = {(resource, event) for resource, event in EVENTS}
    for hook in hooks:
        if (hook.get("resource"), hook.get("event")) not in wanted or hook.get("filter"):
            # ours by name but not what the bot needs now (a filter cannot be changed by PUT)
            await webex.delete_webhook(str(hook["id"]))
            report.add("deleted", hook)
            log.info("webhook %s deleted: not needed in this form", hook.get("id"))
    hooks = [
        h for h in hooks if (h.get("resource"), h.get("event")) in wanted and not h.get("filter")
    ]
    for resource, event in EVENTS:
        name = webhook_name(resource, event)
        mine = [h for h in hooks if (h.get("resource"), h.get("event")) == (resource, event)]
        if not mine:
            created = await webex.create_webhook(
                name=name, targetUrl=target_url, resource=resource, event=event, secret=secret
            )
            report.add("created", created)
            log.info("webhook %s created for %s/%s", created.get("id"), resource, event)
            continue
        keep = _pick(mine, name, target_url)
        for extra in mine:
            if extra is not keep:
                await webex.delete_webhook(str(extra["id"]))
                report.add("deleted", extra)
                log.info("webhook %s deleted: a duplicate of %s", extra.get("id"), keep.get("id"))
        await _bring_up_to_date(webex, keep, name, target_url, secret, report)
    return report


async def _bring_up_to_date(
    webex: WebexGateway,
    hook: dict[str, Any],
    name: str,
    target_url: str,
    secret: str,
    report: SyncReport,
) -> None:
    inactive = hook.get("status") != "active"
    stale = (
        hook.get("targetUrl") != target_url
        or hook.get("name") != name
        or _secret_differs(hook, secret)
    )
    if not inactive and not stale:
        report.add("unchanged", hook)
        return
    fields: dict[str, Any] = {"name": name, "targetUrl": target_url, "secret": secret}
    if inactive:
        fields["status"] = "active"
    updated = await webex.update_webhook(str(hook["id"]), **fields)
    action = "reactivated" if inactive else "updated"
    report.add(action, {**hook, **updated})
    log.info("webhook %s %s", hook.get("id"), action)


def describe(hook: dict[str, Any]) -> str:
    """One line for a webhook; never its secret."""
    mark = "" if is_own(hook) else "  (not this bot's: left alone)"
    return (
        f"{hook.get('name')!s:<36} {hook.get('resource')}/{hook.get('event'):<10} "
        f"{hook.get('status')!s:<9} {hook.get('targetUrl')}{mark}"
    )


async def run_webhooks(settings: Settings, args: argparse.Namespace) -> int:
    """`python -m bot webhooks sync|list|delete`."""
    command = args.webhooks_command
    target = None
    if command == "sync":
        url = getattr(args, "url", None)
        target = url or (target_for(settings.PUBLIC_URL) if settings.PUBLIC_URL else None)
        if not target:
            print("error: no target URL: pass --url or set PUBLIC_URL", file=sys.stderr)
            return 2
        if settings.WEBEX_WEBHOOK_SECRET is None:
            print("error: WEBEX_WEBHOOK_SECRET is not set", file=sys.stderr)
            return 2
    if settings.WEBEX_BOT_TOKEN is None:
        print("error: WEBEX_BOT_TOKEN is not set", file=sys.stderr)
        return 2
    policy = RetryPolicy(
        max_retries=settings.WEBEX_MAX_RETRIES, retry_after_cap=settings.RETRY_AFTER_CAP_SECONDS
    )
    async with standalone_gateway(
        settings.WEBEX_API_URL, settings.WEBEX_BOT_TOKEN.get_secret_value(), None,
        policy=policy, timeout=settings.WEBEX_TIMEOUT_SECONDS,
    ) as webex:
        try:
            return await _webhooks_command(webex, command, target, settings)
        except BotError as error:
            print(f"error: Webex: {error.described()}", file=sys.stderr)
            return 1


async def _webhooks_command(
    webex: WebexGateway, command: str, target: str | None, settings: Settings
) -> int:
    if command == "sync":
        assert target is not None and settings.WEBEX_WEBHOOK_SECRET is not None
        report = await sync_webhooks(
            webex, target, settings.WEBEX_WEBHOOK_SECRET.get_secret_value()
        )
        _print([*report.lines(), f"webhooks → {target}: {report.summary()}"])
        return 0
    hooks = await webex.list_webhooks()
    if command == "list":
        _print([describe(h) for h in hooks] or ["no webhooks"])
        return 0
    if command == "delete":
        own = [h for h in hooks if is_own(h)]
        for hook in own:
            await webex.delete_webhook(str(hook["id"]))
            print(f"deleted      {hook.get('name')}  ({hook.get('id')})", flush=True)
        print(f"{len(own)} deleted; {len(hooks) - len(own)} not this bot's, left alone")
        return 0
    return 2


def _print(lines: Sequence[str]) -> None:
    for line in lines:
        print(line, flush=True)
