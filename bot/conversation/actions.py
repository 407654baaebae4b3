"""The card-action table: each submitted `action` registers with the permission pressing needs;
`press` checks the card's token and that permission before the handler runs. The same refusal
of one person's presses of one card is answered and audited once per window."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bot.conversation.card_tokens import ROOM_TYPE, THREAD, CardRefused
from bot.conversation.context import Context
from bot.conversation.dispatch import authorize
from bot.conversation.signing import refuse_not_signed_in, require_sign_in
from bot.errors import BotError, NotSignedIn
from bot.security import Permission
from bot.store import CardToken

log = logging.getLogger(__name__)
ActionHandler = Callable[[Context, Any, CardToken], Awaitable[None]]


@dataclass(frozen=True)
class Action:
    name: str
    handler: ActionHandler
    permission: Permission
    audited: str | None = None  # the audited change a press of it attempts
    # Refused like the text command it stands for ("Not allowed"), not as a card.
    as_command: bool = False


@dataclass
class ActionTable:
    actions: dict[str, Action] = field(default_factory=dict)

    def register(
        self, name: str, *, permission: Permission, audited: str | None = None,
        as_command: bool = False,
    ) -> Callable[[ActionHandler], ActionHandler]:
        def add(handler: ActionHandler) -> ActionHandler:
            assert name not in self.actions, f"card action registered twice: {name}"
            self.actions[name] = Action(name, handler, permission, audited, as_command)
            return handler

        return add

    def include(self, *tables: ActionTable) -> ActionTable:
        for table in tables:
            for action in table.actions.values():
                assert action.name not in self.actions, f"registered twice: {action.name}"
                self.actions[action.name] = action
        return self


LOCATION_KEY = "location"  # a card about one location names it here (bot.conversation.places)


def _local_admin(ctx: Context) -> bool:
    """With personal sign-in, a Location Administrator may press a location's card (Webex
    decides, with their own token, whether that location is theirs)."""
    return ctx.effects.sign_in is not None and ctx.access is not None \
        and ctx.access.location_admin


async def press(ctx: Context, table: ActionTable, submission: Any) -> None:
    """Check the card's token and the presser's permission, then run the action; refusals
    change nothing and leave the card usable for whoever may press it."""
    name = submission.action
    action = table.actions[name]
    audited = action.audited  # what a refused press is audited as (below: the card's change)
    try:
        token = await ctx.tokens.check(ctx, submission.token, name)
        ctx = replace(ctx, thread_id=token.payload.get(THREAD),
                      room_type=token.payload.get(ROOM_TYPE) or ctx.room_type)
        allowed = action.permission == Permission.ANYONE or (
            ctx.access is not None and ctx.access.allows(action.permission)) or (
            _local_admin(ctx) and LOCATION_KEY in token.payload)
        if not allowed:
            if action.as_command:
                await authorize(ctx, action.permission, None)
                return
            roles = ctx.access.refusal(action.permission, "this organization") if ctx.access else ""
            raise CardRefused(
                f"You are not allowed to use this card, so I did nothing. {roles}".strip(),
                thread=token.payload.get(THREAD), audited=token.payload.get("action"))
        # A confirmation card names the change it is for (set all-locations, save, restore):
        # a refused press is audited as that change, not as the action's usual one.
        audited = token.payload.get("action", action.audited) if action.audited else None
        await require_sign_in(ctx, action.audited is not None)
        await action.handler(ctx, submission, token)
    except NotSignedIn as error:
        ctx.metrics.command(f"card:{name}", "refused")
        await refuse_not_signed_in(ctx, error, audited)
        return
    except CardRefused as refused:
        if refused.thread is not None:
            ctx = replace(ctx, thread_id=refused.thread)
        ctx.metrics.command(f"card:{name}", "refused")
        log.info("event %s: card %s refused for %s: %s", ctx.event_key, name, ctx.person_id,
                 refused.user_message)
        await _refuse_once(ctx, action, refused.user_message,
                           (refused.audited or action.audited) if action.audited else None)
        return
    except BotError as error:
        ctx.metrics.command(f"card:{name}", "failed")
        await ctx.error(error)
        return
    ctx.metrics.command(f"card:{name}", "refused" if ctx.outbox.refused else "ok")


async def _refuse_once(ctx: Context, action: Action, why: str, audited: str | None) -> None:
    """Answer and audit a refused press once per window per person and card; the repeats
    are counted on that audit row, so that presses in a loop neither flood the space nor
    bury `history`."""
    reason = hashlib.sha256(why.encode()).hexdigest()[:12]  # another refusal is news
    key = f"refused:{ctx.person_id}:{ctx.message_id}:{action.name}:{reason}"
    repeat = await ctx.effects.rate_limiter.repeat(key)
    if repeat.count > 1:
        log.info("event %s: refused press %d of this card by %s since %s; not answered again",
                 ctx.event_key, repeat.count, ctx.person_id, repeat.since)
        if repeat.audit_id is not None:
            await ctx.audit.count_audit_repeats(repeat.audit_id, repeat.count)
        return
    if audited is not None:  # an attempted change, refused: the audit trail shows it
        row = await ctx.changes.refused(ctx, audited, why)
        if row.id is not None:
            await ctx.effects.rate_limiter.remember(key, row.id)
    await ctx.notice("Card not accepted", why, style="attention")
