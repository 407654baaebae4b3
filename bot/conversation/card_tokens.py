"""Server-side tokens that bind every actionable card to its org, its kind, its message and time."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.errors import BotError
from bot.models import MENU_ACTIONS
from bot.outbox import current as current_outbox
from bot.request import Request
from bot.store import CardToken, Store
from bot.webex.gateway import WebexGateway

log = logging.getLogger(__name__)

# Which card kinds accept which submitted actions (what pressing needs is the action's own
# permission, declared where the action is registered: bot/conversation/actions.py).
KINDS: dict[str, frozenset[str]] = {
    "edit_form": frozenset({"save_settings", "cancel"}),
    "location_form": frozenset({"save_location", "cancel"}),
    "confirm_disable": frozenset({"confirm_disable", "cancel"}),
    "menu": frozenset(MENU_ACTIONS),
    "watch_alert": frozenset({"watch_restore"}),
}
THREAD = "_thread"  # where the card was posted: answers to a press go in the same thread
ROOM_TYPE = "_room_type"  # direct or group: Webex's card-action events do not say


class CardRefused(BotError):
    """A card press that is not honoured; nothing changes and the token is not used up."""

    def __init__(self, user_message: str, *, thread: str | None = None,
                 audited: str | None = None) -> None:
        super().__init__(user_message)
        self.thread = thread  # the card's thread, when the card is known
        self.audited = audited  # the change the card was for, when it names one


@dataclass(frozen=True)
class Issued:
    token: str
    expires_at: datetime


class CardTokens:
    def __init__(self, store: Store, webex: WebexGateway, *, ttl: timedelta,
                 clock: Callable[[], datetime]) -> None:
        self._store = store
        self._webex = webex
        self._ttl = ttl
        self._clock = clock

    async def issue(
        self, place: Request, kind: str, *, bound_to: str | None = None,
        payload: dict[str, Any] | None = None, ttl: timedelta | None = None,
    ) -> Issued:
        """A new random token (256 bits) for a card about to be posted in `place`'s space
        (working for `ttl`, by default the configured CARD_TOKEN_TTL_SECONDS)."""
        now = self._clock()
        token = CardToken(
            token=secrets.token_urlsafe(32), org_id=place.org_id, kind=kind, person_id=bound_to,
            room_id=place.room_id, message_id=None,
            payload={**(payload or {}), THREAD: place.thread_id, ROOM_TYPE: place.room_type},
            created_at=now,
            expires_at=now + (ttl or self._ttl), used_at=None, used_by=None,
        )
        await self._store.create_card_token(token)
        return Issued(token.token, token.expires_at)

    async def attach(self, token: str, message_id: str | None) -> None:
        if not message_id:
            return
        outbox = current_outbox()  # the event's: written with its reply's record
        if outbox is None or not outbox.attach_later(token, message_id):
            await self._store.attach_card_message(token, message_id)

    async def check(self, press: Request, token: str | None, action: str) -> CardToken:
        """The token behind a press, if it may be pressed here and now; else CardRefused."""
        found = await self._store.get_card_token(token) if token else None
        if found is None:
            raise CardRefused("I do not recognise this card, so I did nothing. Ask me again.")
        why: str | None = None
        if (
            action not in KINDS.get(found.kind, frozenset())
            or found.room_id != press.room_id
            or (found.message_id is not None and found.message_id != press.message_id)
        ):
            why = "This card does not match what I posted, so I did nothing."
        elif found.org_id != press.org_id:
            why = "This card belongs to another organization, so I did nothing."
        elif found.used_at is not None and found.used_event != press.event_key:
            why = "This card was already used, so I did nothing. Ask me again."
        elif found.used_at is None and found.expires_at <= self._clock():
            why = "This card has expired, so I did nothing. Ask me for a new one."
        elif found.person_id is not None and found.person_id != press.person_id:
            why = "Only the person who asked for this card can confirm it."
        if why is not None:
            raise CardRefused(why, thread=found.payload.get(THREAD),
                              audited=found.payload.get("action"))
        return found

    async def use(self, press: Request, token: CardToken) -> None:
        """Use the token up, atomically; a second press racing this one is refused.

        The card is removed from the space once the press has been answered (and not before:
        a press cut short by a restart must still be readable when it is resumed).
        """
        if not await self._store.consume_card_token(token.token, press.person_id,
                                                    self._clock(), press.event_key):
            raise CardRefused("This card was already used, so I did nothing.",
                              thread=token.payload.get(THREAD),
                              audited=token.payload.get("action"))
        # The card pressed (check() made sure it is the token's own card once that is known; a
        # press can beat the bot's recording of which message carries it).
        pressed = token.message_id or press.message_id
        if pressed:
            press.outbox.finally_(self._remove(pressed))

    async def _remove(self, message_id: str) -> None:
        try:
            await self._webex.delete_message(message_id)
        except BotError as error:
            log.warning("could not remove a used card (tracking id %s)", error.tracking_id)
