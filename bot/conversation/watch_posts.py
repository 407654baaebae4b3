"""Posting what the watch found: one card per change per watching space, exactly once.

Each pending post is made and recorded as posted in one step a shutdown does not cut; a space
the bot was removed from (404 or 403 on the post) stops watching, and that is logged. A post
Webex keeps refusing for another reason is retried at the next checks, then given up (logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.aio import complete_despite_cancel
from bot.compliance.watch import CANNOT_CHECK
from bot.compliance.watch_diff import Change, Coverage
from bot.conversation.card_tokens import CardTokens
from bot.errors import WebexError
from bot.outbox import Outbox
from bot.store import Store, WatchPost
from bot.views.cards import CardMessage, notice_card
from bot.views.watch_cards import ChangeRow, WatchChangeView, watch_change_card
from bot.webex.directory import Directory
from bot.webex.gateway import WebexGateway

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
RESTORE_TTL = timedelta(hours=24)  # Restore stays safe later: it is refused once stale
GONE_STATUSES = frozenset({403, 404})
LABELS = {"enabled": "Notifications", "all_locations": "Email for all locations",
          "email": "Notification email"}  # fmt: skip
OUTSIDE = "outside this bot (Control Hub or the API)"


@dataclass(frozen=True)
class Place:
    """A watching space, as the card tokens see where a card is posted."""

    org_id: str
    room_id: str
    event_key: str = "watch"
    person_id: str = ""
    person_email: str | None = None
    source: str = "watch"
    thread_id: str | None = None
    message_id: str | None = None
    outbox: Outbox = field(default_factory=Outbox)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "On" if value else "Off"
    return str(value) if value else "(none)"


def _coverage(c: Coverage | None) -> str:
    if c is None:
        return "(not a calling location)"
    if c.covered:
        return f"Covered ({c.reason}: {c.email})" if c.email else f"Covered ({c.reason})"
    return f"Not covered: {c.reason}"


def changed_by(actor: dict[str, Any]) -> str:
    """Who made the change, in words: this bot's admin, the admin audit log's, or outside."""
    kind = actor.get("kind")
    if kind == "bot":
        who = actor.get("email") or actor.get("person_id")
        return f"{who} through this bot ({actor['source']})"
    if kind == "audit_log":
        who = " ".join(p for p in (actor.get("name"), f"({actor['email']})" if actor.get("email")
                                   else None) if p)  # fmt: skip
        at = datetime.fromisoformat(actor["at"]).strftime("%Y-%m-%d %H:%M UTC")
        return f"{who}, outside this bot, at {at} (Webex's admin audit log)"
    return OUTSIDE


def _headline(change: Change) -> str:
    where = f" at {change.target_name}" if change.target_type == "location" else ""
    lost = sum(1 for f in change.locations
               if f.after is not None and not f.after.covered)  # fmt: skip
    if change.alert and any(f.name == "enabled" and not f.after for f in change.fields):
        return f"Alert: emergency call notifications turned off{where}"
    if change.alert:
        return ("Alert: a new location is not covered" if change.kind == "added"
                else f"Alert: {lost} location{'s' if lost != 1 else ''} no longer covered")
    if change.kind in ("added", "removed"):
        return f"Notice: location {change.kind}"
    return "Notice: coverage restored" if change.restores else "Notice: setting changed"


def _summary(change: Change) -> str:
    name = change.target_name
    if change.kind == "added":
        return f"{name} is now a Webex Calling location."
    if change.kind == "removed":
        return f"{name} is no longer a Webex Calling location."
    what = (f"The setting of location {name}" if change.target_type == "location"
            else "The organization's setting")  # fmt: skip
    off = sum(1 for f in change.locations if f.after is not None and not f.after.covered)
    silent = f" Emergency calls from {off} location{'s' if off != 1 else ''} now send no " \
             "email." if change.alert and off else ""  # fmt: skip
    return f"{what} changed.{silent}"


def change_view(change: Change, org_name: str, detected_at: datetime,
                token: str | None) -> WatchChangeView:  # fmt: skip
    """The card's words for one change."""
    total = change.total
    return WatchChangeView(
        org_name=org_name, alert=change.alert, headline=_headline(change),
        summary=_summary(change),
        target=(f"Location: {change.target_name}" if change.target_type == "location"
                else f"Organization: {org_name}"),
        rows=[ChangeRow(LABELS[f.name], _value(f.before), _value(f.after)) for f in change.fields],
        locations=[ChangeRow(f.name, _coverage(f.before), _coverage(f.after))
                   for f in change.locations],
        coverage=f"{change.covered} of {total} location{'s' if total != 1 else ''} covered",
        detected_at=detected_at, changed_by=changed_by(change.actor), restore_token=token,
    )  # fmt: skip


def restorable(change: Change) -> bool:
    """An alert about a change of the setting (not a location added) can be put back."""
    return change.alert and change.kind == "changed" and bool(change.fields)


def restore_payload(change: Change) -> dict[str, Any]:
    return {"target_type": change.target_type, "target_id": change.target_id,
            "target_name": change.target_name, "after": change.after_setting,
            "restore": {f.name: f.before for f in change.fields},
            "expect": {f.name: f.after for f in change.fields}}  # fmt: skip


def health_notice(kind: str, body: dict[str, Any], org_name: str) -> CardMessage:
    """The "cannot check" notice, or the one saying checks succeed again."""
    if kind == CANNOT_CHECK:
        return notice_card(
            title=f"Cannot check emergency call notifications — {org_name}",
            text=f"The last {body.get('failures')} checks could not read the setting from Webex "
                 f"({body.get('detail') or 'no reason given'}). I keep trying; a change made "
                 "meanwhile is reported once a check succeeds.",
            style="warning", tracking_id=body.get("tracking_id"),
        )  # fmt: skip
    return notice_card(
        title=f"Checking again — {org_name}",
        text="Checks of the emergency call notification setting succeed again. Any change made "
             "while they failed is reported on its own card.", style="good",
    )  # fmt: skip


class WatchPoster:
    """Makes the pending posts of one organization (the caller holds its watch lock)."""

    def __init__(self, store: Store, webex: WebexGateway, tokens: CardTokens,
                 directory: Directory, *, clock: Callable[[], datetime],
                 timeout: float) -> None:  # fmt: skip
        self._store = store
        self._webex = webex
        self._tokens = tokens
        self._directory = directory
        self._clock = clock
        self._timeout = timeout

    async def deliver(self, org_id: str) -> int:
        """Post every pending card; returns how many were posted."""
        posts = await self._store.pending_watch_posts(org_id)
        if not posts:
            return 0
        org_name = await self._directory.org_name()
        posted = 0
        for post in posts:
            posted += await complete_despite_cancel(self._post(org_id, post, org_name),
                                                    self._timeout * 2)  # fmt: skip
        return posted

    async def _post(self, org_id: str, post: WatchPost, org_name: str) -> int:
        token = None
        if post.kind in ("alert", "notice"):
            change = Change.from_json(post.body)
            if post.kind == "alert" and restorable(change):
                issued = await self._tokens.issue(Place(org_id, post.room_id), "watch_alert",
                                                  payload=restore_payload(change),
                                                  ttl=RESTORE_TTL)  # fmt: skip
                token = issued.token
            message = watch_change_card(change_view(change, org_name, post.detected_at, token))
        else:
            message = health_notice(post.kind, post.body, org_name)
        try:
            message_id = await self._webex.post_message(post.room_id, message.markdown,
                                                        attachments=message.attachments())
        except WebexError as error:
            await self._failed(org_id, post, error)
            return 0
        await self._store.settle_watch_post(post.change_id, post.room_id, "posted", self._clock(),
                                            message_id=message_id)  # fmt: skip
        if token is not None:
            await self._tokens.attach(token, message_id)
        return 1

    async def _failed(self, org_id: str, post: WatchPost, error: WebexError) -> None:
        now = self._clock()
        if error.status in GONE_STATUSES:
            await self._store.unwatch_space(org_id, post.room_id, now)
            log.warning("watch: the bot cannot post in space %s any more (%s, tracking id %s); "
                        "it no longer watches", post.room_id, error.status, error.tracking_id)
            return
        if post.attempts + 1 >= MAX_ATTEMPTS:
            await self._store.settle_watch_post(post.change_id, post.room_id, "failed", now)
            log.error("watch: gave up posting change %d to space %s after %d attempts "
                      "(tracking id %s)", post.change_id, post.room_id, MAX_ATTEMPTS,
                      error.tracking_id)  # fmt: skip
            return
        await self._store.settle_watch_post(post.change_id, post.room_id, "pending", now)
        log.info("watch: posting change %d to space %s failed; retried next check "
                 "(tracking id %s)", post.change_id, post.room_id, error.tracking_id)
