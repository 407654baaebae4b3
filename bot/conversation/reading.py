"""Reading what an event names from Webex: the message or card action and the roles of the
person it names, at the same time; checked against the signed envelope; and what to do when
Webex does not give it (later if that may pass, else say so in the space)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.aio import abandon
from bot.conversation.context import Conversation
from bot.errors import RetryLater, TransientWebexError, WebexError
from bot.models import Envelope
from bot.outbox import Outbox
from bot.security import Access
from bot.webex.directory import AuthorizationUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Where:
    """The request as the envelope states it: where to answer before the message or card
    action has been read from Webex (and nothing is decided on it but that)."""

    event_key: str
    org_id: str
    room_id: str
    room_type: str
    thread_id: str | None
    person_id: str
    source: str
    outbox: Outbox = field(default_factory=Outbox)
    message_id: str | None = None
    person_email: str | None = None


async def _access(conv: Conversation, person_id: str) -> Access | None:
    try:
        return await conv.effects.directory.access(person_id)
    except AuthorizationUnavailable as error:
        log.warning("roles of %s unavailable (tracking id %s): fail closed",
                    person_id, error.tracking_id)
        return None


def agrees(envelope: Envelope, fetched: dict[str, tuple[str | None, str | None]]) -> bool:
    """False (logged) when the signed envelope names another person or space than Webex."""
    differ = sorted(name for name, (said, found) in fetched.items() if said != found)
    if differ:
        log.warning("event %s: refused: the envelope's %s disagree with what Webex returned",
                    envelope.key, ", ".join(differ))
    return not differ


async def _unreadable(conv: Conversation, where: Where, error: WebexError, what: str) -> None:
    """Webex did not give us the message or card action: later if it may pass, else say so."""
    if isinstance(error, TransientWebexError) and not where.outbox.last_chance:
        raise RetryLater(f"the {what} could not be read: {error.described()}") from error
    log.warning("event %s: %s unreadable (%s)", where.event_key, what, error.described())
    await conv.effects.replies.notice(
        where, f"I could not read your {what}",
        f"Webex did not give me your {what}, so I did nothing. Please send it again."
        + (f" (Webex tracking ID: {error.tracking_id})" if error.tracking_id else ""),
        style="warning")


async def fetch(conv: Conversation, where: Where, person_id: str, what: str,
                read: Awaitable[T]) -> tuple[T, Access | None] | None:
    """What the event names, read from Webex, and the roles of the person it names: both at
    the same time, as they are independent. None (answered) when Webex did not give it.

    The read goes out from this task at once and the roles, known already for most commands,
    are looked up in a task of their own: the other way round, the read waited for its task's
    first turn of a busy loop before its request left (0.5 ms at p50, 2.7 ms at p90 with 20
    commands in flight: benchmarks/README.md)."""
    roles = asyncio.ensure_future(_access(conv, person_id))
    try:
        found = await read
    except WebexError as error:
        abandon(roles)  # not wanted: the answer says the read failed
        await _unreadable(conv, where, error, what)
        return None
    except BaseException:
        abandon(roles)  # cancelled (a shutdown), or a bug: nothing awaits the roles now
        raise
    return found, await roles
