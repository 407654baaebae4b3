"""This deployment's webhooks at Webex: which are its own, and sync (create, repair, de-duplicate).

Ownership is by id, remembered in the deployment's database (the registry): a deployment changes
or deletes only webhooks it created. Others the bot's token can see — made by hand, or by another
deployment sharing the bot (staging beside production) — are never touched, whatever their name.

Upgrading from a version that did not record ids: a webhook not in the registry is adopted
(recorded, then kept up to date) only when it is exactly what this deployment would have made —
its name `ecn-bot <resource>/<event>`, one of the three events, no filter, and a target URL equal
to this deployment's target. Another deployment's webhooks point elsewhere, so they are never
adopted; a hand-made copy with another name is never adopted. The same rule picks up a webhook
whose creation a crash kept from being recorded. Each adoption is logged.

The secret: Webex's webhook resource carries `secret` in its documented responses, so a webhook
whose listing shows none is taken to have none, and sync puts the secret on it (`PUT` takes it);
one that shows another secret gets the current one. Both compare in constant time.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.errors import BotError
from bot.models import WEBHOOK_PATH, WEBHOOKS
from bot.webex.gateway import WebexGateway

log = logging.getLogger(__name__)
PREFIX = "ecn-bot "
EVENTS = WEBHOOKS
SYNC_LOCK = "ecn-bot:webhook-sync"  # replicas sharing a database sync one at a time
REPORT_ORDER = ("adopted", "created", "updated", "reactivated", "deleted", "forgotten",
                "unchanged")


class WebhookRegistry(Protocol):
    """Where a deployment remembers the ids of its webhooks (the store)."""

    async def owned_webhook_ids(self) -> set[str]: ...
    async def own_webhook(self, webhook_id: str, resource: str, event: str, target_url: str,
                          at: datetime) -> None: ...
    async def disown_webhook(self, webhook_id: str) -> None: ...
    def org_lock(self, org_id: str) -> AbstractAsyncContextManager[None]: ...


def webhook_name(resource: str, event: str) -> str:
    """The name the bot gives its webhook for one resource/event."""
    return f"{PREFIX}{resource}/{event}"


def target_for(public_url: str) -> str:
    """Where Webex should deliver events for a bot served at `public_url`."""
    return public_url.rstrip("/") + WEBHOOK_PATH


def _kind(hook: dict[str, Any]) -> tuple[Any, Any]:
    return hook.get("resource"), hook.get("event")


def adoptable(hook: dict[str, Any], target: str | None) -> bool:
    """Exactly what this deployment makes for `target`: adopted when not yet recorded."""
    resource, event = _kind(hook)
    return (
        target is not None
        and (resource, event) in EVENTS
        and hook.get("name") == webhook_name(str(resource), str(event))
        and not hook.get("filter")
        and hook.get("targetUrl") == target
    )


def owned(hooks: list[dict[str, Any]], ids: set[str], target: str | None) -> list[dict[str, Any]]:
    """This deployment's webhooks: recorded by id, or adoptable for `target`."""
    return [h for h in hooks if str(h.get("id")) in ids or adoptable(h, target)]


def whose(hook: dict[str, Any], ids: set[str], target: str | None) -> str:
    """Whose a webhook is, as `webhooks list` says it."""
    if str(hook.get("id")) in ids:
        return "this deployment's"
    if adoptable(hook, target):
        return "this deployment's, not yet recorded (the next sync adopts it)"
    return "not this deployment's: left alone"


def secret_differs(hook: dict[str, Any], secret: str) -> bool:
    """Whether the webhook lacks `secret` (a listing without one: it has none)."""
    shown = hook.get("secret")
    return not shown or not hmac.compare_digest(str(shown).encode(), secret.encode())


class SyncReport:
    """What a sync did, one (action, name, id) entry per webhook it looked at."""

    def __init__(self) -> None:
        self.actions: list[tuple[str, str, str]] = []

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
        parts = [f"{self.count(a)} {a}" for a in REPORT_ORDER if self.count(a)]
        return ", ".join(parts) or "nothing to do"


class _Sync:
    def __init__(self, webex: WebexGateway, registry: WebhookRegistry, target: str, secret: str,
                 clock: Callable[[], datetime]) -> None:
        self.webex, self.registry, self.target, self.secret = webex, registry, target, secret
        self.clock, self.report = clock, SyncReport()

    async def record(self, hook: dict[str, Any]) -> None:
        resource, event = _kind(hook)
        await self.registry.own_webhook(str(hook["id"]), str(resource), str(event),
                                        str(hook.get("targetUrl")), self.clock())

    async def delete(self, hook: dict[str, Any], why: str) -> None:
        await delete_owned(self.webex, self.registry, hook)
        self.report.add("deleted", hook)
        log.info("webhook %s deleted: %s", hook.get("id"), why)

    async def run(self) -> SyncReport:
        hooks = await self.webex.list_webhooks()
        ids = await self.registry.owned_webhook_ids()
        listed = {str(h.get("id")) for h in hooks}
        for gone in sorted(ids - listed):
            await self.registry.disown_webhook(gone)
            self.report.add("forgotten", {"id": gone, "name": "(no longer at Webex)"})
            log.info("webhook %s was this deployment's and is gone at Webex: forgotten", gone)
        mine = owned(hooks, ids, self.target)
        for hook in mine:
            if str(hook.get("id")) not in ids:
                await self.record(hook)
                self.report.add("adopted", hook)
                log.info("webhook %s adopted: it is named and pointed exactly as this "
                         "deployment's, and was not recorded yet", hook.get("id"))
        for hook in [h for h in mine if _kind(h) not in EVENTS or h.get("filter")]:
            # ours, but not what the bot needs now (a filter cannot be changed by PUT)
            await self.delete(hook, "not needed in this form")
        for resource, event in EVENTS:
            await self.one(resource, event,
                           [h for h in mine if _kind(h) == (resource, event) and
                            not h.get("filter")])
        return self.report

    async def one(self, resource: str, event: str, candidates: list[dict[str, Any]]) -> None:
        name = webhook_name(resource, event)
        if not candidates:
            created = await self.webex.create_webhook(
                name=name, targetUrl=self.target, resource=resource, event=event,
                secret=self.secret)
            await self.record(created)
            self.report.add("created", created)
            log.info("webhook %s created for %s/%s", created.get("id"), resource, event)
            return
        keep = min(candidates, key=lambda h: (h.get("targetUrl") != self.target,
                                              h.get("status") != "active",
                                              h.get("name") != name, str(h.get("created") or "")))
        for extra in candidates:
            if extra is not keep:
                await self.delete(extra, f"a duplicate of {keep.get('id')}")
        await self.bring_up_to_date(keep, name)

    async def bring_up_to_date(self, hook: dict[str, Any], name: str) -> None:
        inactive = hook.get("status") != "active"
        stale = (hook.get("targetUrl") != self.target or hook.get("name") != name
                 or secret_differs(hook, self.secret))
        if not inactive and not stale:
            self.report.add("unchanged", hook)
            return
        fields: dict[str, Any] = {"name": name, "targetUrl": self.target, "secret": self.secret}
        if inactive:
            fields["status"] = "active"
        updated = {**hook, **await self.webex.update_webhook(str(hook["id"]), **fields)}
        await self.record(updated)
        action = "reactivated" if inactive else "updated"
        self.report.add(action, updated)
        log.info("webhook %s %s", hook.get("id"), action)


async def sync_webhooks(webex: WebexGateway, registry: WebhookRegistry, target_url: str,
                        secret: str, clock: Callable[[], datetime] | None = None) -> SyncReport:
    """Make exactly one active webhook of this deployment's per event, at `target_url`, with
    `secret`; touch no other webhook."""
    async with registry.org_lock(SYNC_LOCK):
        return await _Sync(webex, registry, target_url, secret,
                           clock or (lambda: datetime.now(UTC))).run()


async def delete_owned(webex: WebexGateway, registry: WebhookRegistry,
                       hook: dict[str, Any]) -> None:
    """Delete one of this deployment's webhooks at Webex (gone already is fine) and forget it."""
    try:
        await webex.delete_webhook(str(hook["id"]))
    except BotError as error:
        if getattr(error, "status", None) != 404:
            raise
    await registry.disown_webhook(str(hook["id"]))
