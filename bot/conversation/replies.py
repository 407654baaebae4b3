"""Posting replies: in the thread in group spaces, once per event even when an event is resumed.

Each reply's card carries a marker made from its event and its place in the event's replies (the
`id` of the card's first element). A resumed event first looks for a reply it may have posted
before a crash cut it off between Webex's answer and recording it: in a 1:1 space by listing the
space's newest messages. Webex lets a bot list a group space's messages only when they mention
it, which its own replies do not; but Webex notifies the bot of each message it posts, and the
receiver keeps their ids (bot/store/own_messages.py; on SQLite in its journal): in a group space
the bot reads the own messages kept for the thread since the event arrived, one by one, and
looks for the marker. Only a marker found stops a post: when the notice never arrived (the
receiver was down too), the reply is posted again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Literal, Protocol

from bot.aio import complete_despite_cancel
from bot.errors import BotError, RetryLater, TransientWebexError, WebexError
from bot.request import Request
from bot.store import Store
from bot.views.cards import CardMessage, notice_card
from bot.webex.gateway import WebexGateway

log = logging.getLogger(__name__)
Style = Literal["good", "attention", "warning", "default"]
# Webex's notice of a reply posted just before a crash may still be on its way: look again
# for this long before posting again.
OWN_NOTICE_WAIT_SECONDS = 2.0
OWN_NOTICE_POLL_SECONDS = 0.25
CLOCK_SKEW = timedelta(minutes=5)  # between Webex's `created` and this host's clock


class OwnMessages(Protocol):
    """Where the receiver keeps the ids of the bot's own group messages (the store, or the
    receiving process's journal on SQLite)."""

    async def own_messages_in(self, room_id: str, parent_id: str | None,
                              since: datetime | None) -> list[str]: ...


class Replier:
    """The one place that posts the bot's answers and turns errors into cards."""

    def __init__(self, webex: WebexGateway, store: Store, *, timeout: float,
                 own: OwnMessages | None = None,
                 notice_wait: float = OWN_NOTICE_WAIT_SECONDS) -> None:
        self._webex = webex
        self._store = store
        self._timeout = timeout
        self._own: OwnMessages = own or store
        self._notice_wait = notice_wait

    async def send(self, place: Request, reply: CardMessage | str, *,
                   to_person: str | None = None) -> str | None:
        """Post `reply` (a card, or plain text) where `place` says (or in `to_person`'s 1:1
        space); returns the message id."""
        outbox = place.outbox
        outbox.count += 1
        step = f"reply{outbox.count}"
        if step in outbox.sent:
            log.info("event %s: reply %d was posted before a restart; not again",
                     place.event_key, outbox.count)
            return outbox.sent[step]
        marker = reply_marker(place.event_key, step)
        if outbox.resumed and to_person is None:  # (another space's: not looked for)
            found = await self._posted_before(place, marker)
            if found is not None:
                log.info("event %s: reply %d found in the space; not posted again",
                         place.event_key, outbox.count)
                await self._record(place, step, found)
                return found
        # Plain text (a progress line) carries no marker: it is edited, not looked for.
        markdown, attachments = ((reply, []) if isinstance(reply, str) else
                                 (reply.markdown, mark(reply, marker).attachments()))

        async def post_and_record() -> str:
            try:
                message_id = await self._webex.post_message(
                    place.room_id, markdown, attachments=attachments,
                    parent_id=None if to_person else place.thread_id, to_person_id=to_person)
            except WebexError as error:
                if isinstance(error, TransientWebexError) or error.status in (None, 502, 504):
                    raise RetryLater(f"posting reply {outbox.count} failed: {error.described()}"
                                     ) from error
                raise
            await self._record(place, step, message_id)
            return message_id

        # Shutdown: a POST already sent may land whatever happens here. Let it finish and be
        # recorded, or a resumed event posts the reply twice.
        return await complete_despite_cancel(post_and_record(), self._timeout)

    async def _record(self, place: Request, step: str, message_id: str) -> None:
        if not place.outbox.record_later(step, message_id):  # else with the event's end
            await self._store.set_event_step(place.event_key, step, {"message_id": message_id})

    async def _posted_before(self, place: Request, marker: str) -> str | None:
        """The id of the reply carrying `marker` if the bot posted it before."""
        if place.room_type != "direct":
            return await self._posted_in_group(place, marker)
        try:
            recent = await self._webex.recent_messages(place.room_id, limit=50)
        except WebexError as error:
            raise RetryLater(f"could not look for a reply posted before: {error.described()}"
                             ) from error
        for message in recent:
            if marker in (_marker_of(a) for a in message.attachments):
                return message.id
        return None

    async def _posted_in_group(self, place: Request, marker: str) -> str | None:
        """Among the bot's own messages Webex told of in the thread since the event arrived
        (a bot cannot list a group space's messages), the one carrying `marker`."""
        since = place.outbox.since - CLOCK_SKEW if place.outbox.since is not None else None
        checked: set[str] = set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._notice_wait
        while True:
            for message_id in await self._own.own_messages_in(place.room_id,
                                                              place.thread_id, since):
                if message_id in checked:
                    continue
                checked.add(message_id)
                if await self._carries(message_id, marker):
                    return message_id
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(OWN_NOTICE_POLL_SECONDS)

    async def _carries(self, message_id: str, marker: str) -> bool:
        try:
            message = await self._webex.get_message(message_id)
        except WebexError as error:
            if isinstance(error, TransientWebexError) or error.status in (None, 502, 504):
                raise RetryLater("could not read a reply posted before: "
                                 f"{error.described()}") from error
            return False  # gone, or not readable: not known to be the reply
        return marker in (_marker_of(a) for a in message.attachments)

    async def edit(self, place: Request, message_id: str, text: str) -> bool:
        """Replace a text message's words (progress); False when Webex refused (it is only
        progress: the report that follows matters, so a failed edit is logged, not raised)."""
        try:
            await self._webex.edit_message(message_id, place.room_id, text)
        except WebexError as error:
            log.info("event %s: progress edit refused (tracking id %s)", place.event_key,
                     error.tracking_id)
            return False
        return True

    async def notice(self, place: Request, title: str, text: str, *,
                     style: Style = "default") -> None:
        await self.send(place, notice_card(title=title, text=text, style=style))

    async def error(self, place: Request, error: BotError) -> None:
        """A failure the person should know about, with Webex's tracking id when there is one."""
        title = "Webex could not do that" if isinstance(error, WebexError) else "That did not work"
        try:
            await self.send(place, notice_card(title=title, text=error.user_message,
                                               style="attention", tracking_id=error.tracking_id))
        except WebexError as again:
            log.error("event %s: could not post the error reply (tracking id %s)",
                      place.event_key, again.tracking_id)


def reply_marker(event_key: str, step: str) -> str:
    """The same for the same reply of the same event, whichever attempt posts it."""
    return "reply-" + hashlib.sha256(f"{event_key}|{step}".encode()).hexdigest()[:24]


def mark(reply: CardMessage, marker: str) -> CardMessage:
    """The reply with `marker` as the id of its card's first element (invisible)."""
    body = list(reply.card.get("body") or [])
    if not body:
        return reply
    return replace(reply, card={**reply.card, "body": [{**body[0], "id": marker}, *body[1:]]})


def _marker_of(attachment: dict[str, object]) -> str | None:
    content = attachment.get("content")
    body = content.get("body") if isinstance(content, dict) else None
    first = body[0] if isinstance(body, list) and body else None
    value = first.get("id") if isinstance(first, dict) else None
    return value if isinstance(value, str) else None
