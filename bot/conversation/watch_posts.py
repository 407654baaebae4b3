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

from bot.aio import complete_despite_cancel
from bot.compliance.watch_diff import Change
from bot.conversation.card_tokens import CardTokens
from bot.conversation.watch_words import change_view, health_notice, restorable, restore_payload
from bot.errors import WebexError
from bot.outbox import Outbox
from bot.store import Store, WatchPost
from bot.views.watch_cards import watch_change_card
from bot.webex.directory import Directory
from bot.webex.gateway import WebexGateway

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
RESTORE_TTL = timedelta(hours=24)  # Restore stays safe later: it is refused once stale
GONE_STATUSES = frozenset({403, 404})


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
        posted, gone = 0, set()
        for post in posts:
            if post.room_id in gone:  # unsubscribed just now: its posts were dropped with it
                continue
            done = await complete_despite_cancel(self._post(org_id, post, org_name),
                                                 self._timeout * 2)  # fmt: skip
            if done is None:
                gone.add(post.room_id)
            posted += bool(done)
        return posted

    async def _post(self, org_id: str, post: WatchPost, org_name: str) -> bool | None:
        """Post one card: True when posted, False when it failed, None when the space is gone."""
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
            return await self._failed(org_id, post, error)
        await self._store.settle_watch_post(post.change_id, post.room_id, "posted", self._clock(),
                                            message_id=message_id)  # fmt: skip
        if token is not None:
            await self._tokens.attach(token, message_id)
        return True

    async def _failed(self, org_id: str, post: WatchPost, error: WebexError) -> bool | None:
        now = self._clock()
        if error.status in GONE_STATUSES:
            await self._store.unwatch_space(org_id, post.room_id, now)
            log.warning("watch: the bot cannot post in space %s any more (%s, tracking id %s); "
                        "it no longer watches", post.room_id, error.status, error.tracking_id)
            return None
        if post.attempts + 1 >= MAX_ATTEMPTS:
            await self._store.settle_watch_post(post.change_id, post.room_id, "failed", now)
            log.error("watch: gave up posting change %d to space %s after %d attempts "
                      "(tracking id %s)", post.change_id, post.room_id, MAX_ATTEMPTS,
                      error.tracking_id)  # fmt: skip
            return False
        await self._store.settle_watch_post(post.change_id, post.room_id, "pending", now)
        log.info("watch: posting change %d to space %s failed; retried next check "
                 "(tracking id %s)", post.change_id, post.room_id, error.tracking_id)
        return False
