"""One recorded event, by its kind: fetch the message or card action → roles → dispatch → reply."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from bot.conversation import menu
from bot.conversation.actions import press
from bot.conversation.context import Conversation
from bot.conversation.dispatch import command_text, run_command
from bot.errors import WebexError
from bot.models import (
    CARD_SUBMISSION,
    AttachmentActionEventData,
    Envelope,
    MembershipEventData,
    MessageEventData,
)
from bot.outbox import Outbox
from bot.security import Access
from bot.webex.directory import AuthorizationUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")
Route = Callable[[Conversation, Envelope, Outbox], Awaitable[None]]


async def process(conv: Conversation, envelope: Envelope, outbox: Outbox) -> None:
    """Run one event; user-level failures become replies, never exceptions."""
    route = ROUTES.get(envelope.kind)
    if route is None:
        log.info("event %s: %s is not handled; ignored", envelope.key, envelope.kind)
        return
    await route(conv, envelope, outbox)


async def _access(conv: Conversation, person_id: str) -> Access | None:
    try:
        return await conv.effects.directory.access(person_id)
    except AuthorizationUnavailable as error:
        log.warning("roles of %s unavailable (tracking id %s): fail closed",
                    person_id, error.tracking_id)
        return None


async def _with_access(
    conv: Conversation, fetch: Awaitable[T], person_id: str, event_key: str, what: str
) -> tuple[T, Access | None] | None:
    """What the event names (fetched from Webex) and its sender's roles, read at the same
    time: the two are independent. None when Webex would not give the thing itself."""
    fetching = asyncio.ensure_future(fetch)
    access = await _access(conv, person_id)
    try:
        return await fetching, access
    except WebexError as error:
        log.warning("event %s: %s unreadable (%s, tracking id %s)", event_key, what,
                    error.status, error.tracking_id)
        return None


async def on_message(conv: Conversation, envelope: Envelope, outbox: Outbox) -> None:
    data = MessageEventData.model_validate(envelope.data)
    if not outbox.resumed and not conv.rate_limiter.allow(data.personId):
        # Before any Webex call: a flood must not spend the organization's API quota.
        await _slow_down(conv, envelope, data, outbox)
        return
    fetched = await _with_access(conv, conv.webex.get_message(data.id), data.personId,
                                 envelope.key, "message")
    if fetched is None:
        return
    message, access = fetched
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
        await menu.send_help(ctx, "I did not understand that",
                             f"“{text[:100]}” is not a command I know.")
        return
    await run_command(ctx, command, args)


async def _slow_down(conv: Conversation, envelope: Envelope, data: MessageEventData,
                     outbox: Outbox) -> None:
    """Tell a person once per minute that they are over the limit; otherwise stay quiet."""
    conv.effects.metrics.command("rate_limited", "refused")
    log.info("event %s: %s is over the command rate limit", envelope.key, data.personId)
    if not conv.rate_limiter.first_refusal(data.personId):
        return
    ctx = conv.context(
        event_key=envelope.key, room_id=data.roomId,
        room_type=data.roomType or "direct", person_id=data.personId,
        person_email=data.personEmail, access=None, source="command",
        thread_id=_thread(data.roomType, data.parentId, data.id), outbox=outbox,
    )
    await ctx.notice(
        "Please slow down",
        f"You have sent more than {conv.command_rate} commands in a "
        "minute. I will take new ones again shortly; until then I ignore them.",
        style="warning")


async def on_card(conv: Conversation, envelope: Envelope, outbox: Outbox) -> None:
    data = AttachmentActionEventData.model_validate(envelope.data)
    fetched = await _with_access(conv, conv.webex.get_attachment_action(data.id),
                                 data.personId, envelope.key, "card action")
    if fetched is None:
        return
    action, access = fetched
    ctx = conv.context(
        event_key=envelope.key, room_id=action.roomId,
        room_type=data.model_extra.get("roomType", "") if data.model_extra else "",
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
