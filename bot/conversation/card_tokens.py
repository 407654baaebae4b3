"""Server-side tokens that bind every actionable card to its org, its kind, its message and time."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.errors import BotError
from bot.models import MENU_ACTIONS
from bot.security import Permission
from bot.store import CardToken, Store

if TYPE_CHECKING:
    from bot.conversation.dispatch import Context

log = logging.getLogger(__name__)

# Which card kinds accept which submitted actions, and what pressing needs.
KINDS: dict[str, tuple[frozenset[str], Permission]] = {
    "edit_form": (frozenset({"save_settings", "cancel"}), Permission.CHANGE),
    "confirm_disable": (frozenset({"confirm_disable", "cancel"}), Permission.CHANGE),
    "menu": (frozenset(MENU_ACTIONS), Permission.ANYONE),
}


THREAD = "_thread"  # where the card was posted: answers to a press go in the same thread


class CardRefused(BotError):
    """A card press that is not honoured; nothing changes and the token is not used up."""

    def __init__(self, user_message: str, *, thread: str | None = None) -> None:
        super().__init__(user_message)
        self.thread = thread  # the card's thread, when the card is known


@dataclass(frozen=True)
class Issued:
    token: str
    expires_at: datetime


class CardTokens:
    def __init__(self, store: Store, ttl: timedelta) -> None:
        self._store = store
        self._ttl = ttl

    async def issue(
        self, ctx: Context, kind: str, *, bound_to: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Issued:
        """A new random token (256 bits) for a card about to be posted in `ctx`'s space."""
        now = ctx.services.clock()
        token = CardToken(
            token=secrets.token_urlsafe(32), org_id=ctx.org_id, kind=kind, person_id=bound_to,
            room_id=ctx.room_id, message_id=None,
            payload={**(payload or {}), THREAD: ctx.thread_id}, created_at=now,
            expires_at=now + self._ttl, used_at=None, used_by=None,
        )
        await self._store.create_card_token(token)
        return Issued(token.token, token.expires_at)

    async def attach(self, token: str, message_id: str | None) -> None:
        if message_id:
            await self._store.attach_card_message(token, message_id)

    async def check(self, ctx: Context, token: str | None, action: str) -> CardToken:
        """The token behind a press, if this person may press it now; else CardRefused."""
        found = await self._store.get_card_token(token) if token else None
        if found is None:
            raise CardRefused("I do not recognise this card, so I did nothing. Ask me again.")
        accepted, needed = KINDS.get(found.kind, (frozenset(), Permission.CHANGE))
        why: str | None = None
        if (
            action not in accepted
            or found.room_id != ctx.room_id
            or (found.message_id is not None and found.message_id != ctx.message_id)
        ):
            why = "This card does not match what I posted, so I did nothing."
        elif found.org_id != ctx.org_id:
            why = "This card belongs to another organization, so I did nothing."
        elif found.used_at is not None and found.used_event != ctx.event_key:
            why = "This card was already used, so I did nothing. Ask me again."
        elif found.used_at is None and found.expires_at <= ctx.services.clock():
            why = "This card has expired, so I did nothing. Ask me for a new one."
        elif found.person_id is not None and found.person_id != ctx.person_id:
            why = "Only the person who asked for this card can confirm it."
        elif ctx.access is None or not ctx.access.allows(needed):
            roles = ctx.access.refusal(needed, "this organization") if ctx.access else ""
            why = f"You are not allowed to use this card, so I did nothing. {roles}".strip()
        if why is not None:
            raise CardRefused(why, thread=found.payload.get(THREAD))
        return found

    async def use(self, ctx: Context, token: CardToken) -> None:
        """Use the token up, atomically; a second press racing this one is refused.

        The card is removed from the space once the press has been answered (and not before:
        a press cut short by a restart must still be readable when it is resumed).
        """
        if not await self._store.consume_card_token(token.token, ctx.person_id,
                                                    ctx.services.clock(), ctx.event_key):
            raise CardRefused("This card was already used, so I did nothing.",
                              thread=token.payload.get(THREAD))
        # The card pressed (check() made sure it is the token's own card once that is known; a
        # press can beat the bot's recording of which message carries it).
        pressed = token.message_id or ctx.message_id
        if pressed:
            ctx.outbox.finally_(self._remove(ctx, pressed))

    async def _remove(self, ctx: Context, message_id: str) -> None:
        try:
            await ctx.services.webex.delete_message(message_id)
        except BotError as error:
            log.warning("could not remove a used card (tracking id %s)", error.tracking_id)
