"""One recorded event, by its kind: the person's rate limit → fetch the message or card action
(and check it against the envelope) → roles → dispatch → reply."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Any

from pydantic import ValidationError

from bot.conversation import menu
from bot.conversation.actions import press
from bot.conversation.context import Conversation
from bot.conversation.dispatch import command_text, run_command
from bot.conversation.reading import Where, agrees, fetch
from bot.models import (
    CARD_SUBMISSION,
    AttachmentActionEventData,
    Envelope,
    MembershipEventData,
    MessageEventData,
)
from bot.outbox import Outbox

log = logging.getLogger(__name__)
Route = Callable[[Conversation, Envelope, Outbox], Awaitable[None]]


async def process(conv: Conversation, envelope: Envelope, outbox: Outbox) -> None:
    """Run one event; user-level failures become replies, never exceptions."""
    route = ROUTES.get(envelope.kind)
    if route is None:
        log.info("event %s: %s is not handled; ignored", envelope.key, envelope.kind)
        return
    await route(conv, envelope, outbox)


async def _within_limit(conv: Conversation, person_id: str, where: Where) -> bool:
    """The person's rate limit, before any Webex call: a flood must not spend the
    organization's API quota. Over it, they are told once when they may go on."""
    if where.outbox.resumed:
        return True  # counted when it first ran
    limiter = conv.effects.rate_limiter
    decision = await limiter.take(person_id)
    if decision.allowed:
        return True
    conv.effects.metrics.command("rate_limited", "refused")
    log.info("event %s: %s is over the rate limit", where.event_key, person_id)
    if decision.notify and decision.retry_at is not None:
        wait = max(1, round((decision.retry_at - conv.effects.clock()).total_seconds()))
        await conv.effects.replies.notice(
            where, "Please slow down",
            f"You have sent commands faster than I take them ({limiter.burst} at once, then "
            f"{limiter.per_minute} a minute). I take them again from "
            f"{decision.retry_at.astimezone(UTC):%H:%M:%S} UTC (in {wait} s); until then I "
            "ignore them.",
            style="warning")
    return False


async def on_message(conv: Conversation, envelope: Envelope, outbox: Outbox) -> None:
    data = MessageEventData.model_validate(envelope.data)
    where = Where(envelope.key, conv.org_id, data.roomId, data.roomType or "direct",
                  _thread(data.roomType, data.parentId, data.id), data.personId, "command",
                  outbox)
    if not await _within_limit(conv, data.personId, where):
        return
    fetched = await fetch(conv, where, data.personId, "message", conv.webex.get_message(data.id))
    if fetched is None:
        return
    message, access = fetched
    if not agrees(envelope, {"personId": (data.personId, message.personId),
                              "roomId": (data.roomId, message.roomId)}):
        return
    ctx = conv.context(
        event_key=envelope.key, room_id=message.roomId,
        room_type=message.roomType or data.roomType or "direct", person_id=message.personId,
        person_email=message.personEmail, access=access, source="command",
        thread_id=_thread(message.roomType, message.parentId, message.id),
        message_id=message.id, outbox=outbox,
    )
    text = command_text(text=message.text, html=message.html, room_type=message.roomType,
                        bot_id=conv.bot_id, bot_name=conv.bot_name)
    command, args = menu.COMMANDS.find(text)
    if command is None:
        conv.effects.metrics.command("unknown", "answered")
        # Not echoed: what anyone types (in a shared space, another organization's user too)
        # must not come back in the bot's own card.
        await menu.send_help(ctx, "I did not understand that",
                             "That is not a command I know. Here is what I can do for you.")
        return
    await run_command(ctx, command, args)


async def on_card(conv: Conversation, envelope: Envelope, outbox: Outbox) -> None:
    data = AttachmentActionEventData.model_validate(envelope.data)
    room_type = str(data.model_extra.get("roomType", "")) if data.model_extra else ""
    where = Where(envelope.key, conv.org_id, data.roomId, room_type, None, data.personId, "card",
                  outbox)
    if not await _within_limit(conv, data.personId, where):
        return
    fetched = await fetch(conv, where, data.personId, "card action",
                           conv.webex.get_attachment_action(data.id))
    if fetched is None:
        return
    action, access = fetched
    if not agrees(envelope, {"personId": (data.personId, action.personId),
                              "roomId": (data.roomId, action.roomId),
                              "messageId": (data.messageId or action.messageId,
                                            action.messageId)}):
        return
    ctx = conv.context(
        event_key=envelope.key, room_id=action.roomId, room_type=room_type,
        person_id=action.personId, person_email=access.person.email if access else None,
        access=access, source="card", thread_id=None, message_id=action.messageId,
        outbox=outbox,
    )
    try:
        submission = CARD_SUBMISSION.validate_python(action.inputs)
    except ValidationError as error:
        conv.effects.metrics.command("card", "invalid")
        await ctx.notice("I could not use that card", _describe(error, action.inputs),
                         style="warning")
        return
    await press(ctx, menu.ACTIONS, submission)


def _describe(error: ValidationError, inputs: dict[str, Any]) -> str:
    """Name the fields that were wrong, without echoing their values back."""
    fields = sorted({str(e["loc"][1] if len(e["loc"]) > 1 else e["loc"][0])
                     for e in error.errors() if e.get("loc")})
    if "action" in fields or "action" not in inputs:
        return "This card's button is not one I know. Ask me for a new card."
    names = ", ".join(f"“{f}”" for f in fields if f != inputs.get("action")) or "the card"
    return f"Please check {names} and try again."


async def on_membership(conv: Conversation, envelope: Envelope, outbox: Outbox) -> None:
    data = MembershipEventData.model_validate(envelope.data)
    if data.personId != conv.bot_id:
        return
    ctx = conv.context(
        event_key=envelope.key, room_id=data.roomId, room_type="",
        person_id=envelope.actorId or "", person_email=None, access=None, source="command",
        outbox=outbox,
    )
    await menu.welcome(ctx)


def _thread(room_type: str | None, parent_id: str | None, message_id: str) -> str | None:
    """Group spaces get replies in the command's thread; 1:1 spaces are a conversation."""
    if room_type == "direct":
        return None
    return parent_id or message_id


ROUTES: dict[str, Route] = {
    "messages/created": on_message,
    "attachmentActions/created": on_card,
    "memberships/created": on_membership,
}
