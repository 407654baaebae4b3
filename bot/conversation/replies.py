"""Posting replies: in the thread in group spaces, once per event even when an event is resumed."""

from __future__ import annotations

import logging
from typing import Literal

from bot.aio import complete_despite_cancel
from bot.errors import BotError, WebexError
from bot.request import Request
from bot.store import Store
from bot.views.cards import CardMessage, notice_card
from bot.webex.gateway import WebexGateway

log = logging.getLogger(__name__)
Style = Literal["good", "attention", "warning", "default"]


class Replier:
    """The one place that posts the bot's answers and turns errors into cards."""

    def __init__(self, webex: WebexGateway, store: Store, *, timeout: float) -> None:
        self._webex = webex
        self._store = store
        self._timeout = timeout

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

        async def post_and_record() -> str:
            markdown, attachments = ((reply, []) if isinstance(reply, str)
                                     else (reply.markdown, reply.attachments()))
            message_id = await self._webex.post_message(
                place.room_id, markdown, attachments=attachments,
                parent_id=None if to_person else place.thread_id, to_person_id=to_person)
            outbox.sent[step] = message_id
            await self._store.set_event_step(place.event_key, step, {"message_id": message_id})
            return message_id

        # Shutdown: a POST already sent may land whatever happens here. Let it finish and be
        # recorded, or a resumed event posts the reply twice.
        return await complete_despite_cancel(post_and_record(), self._timeout)

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
