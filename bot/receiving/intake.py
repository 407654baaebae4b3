"""Where the webhook receiver hands what it accepted: the same process's runner, or a worker
process (bot/server/serve.py). The receiver needs nothing else of the bot."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiohttp import web

from bot.receiving.spool import Spool, Trouble

RECORD_SECONDS = 3.0  # then the event is spooled: Webex waits only seconds for an answer
# (key, resource, event, body, received at) → False when the key was recorded before.
Record = Callable[[str, str, str, dict[str, Any], datetime], Awaitable[bool]]
# (message id, room id, parent id, created): one of the bot's own group messages, ids only.
RememberOwn = Callable[[str, str, str | None, datetime], Awaitable[None]]


class Accept(Protocol):
    """The same, once recorded (or spooled: then the taker records it): hand it on to be run."""

    def __call__(self, key: str, resource: str, event: str, body: dict[str, Any],
                 received_at: datetime, /, *, spooled: bool) -> object: ...


@dataclass(frozen=True)
class Intake:
    """What POST /webhooks/webex needs: the secret, who the bot is, where to record an event
    durably, and where to send accepted events and the counts."""

    secret: bytes
    bot_id: str
    record: Record
    clock: Callable[[], datetime]
    accept: Accept
    count: Callable[[str, str], None]
    signature_failed: Callable[[], None]
    max_age: timedelta  # an event Webex created longer ago than this is a replay: refused
    spool: Spool = field(default_factory=lambda: Spool(None))  # when `record` fails
    remember_own: RememberOwn | None = None  # the bot's own group messages (their ids)
    # `record` hands each new event on (and counts it) itself, as soon as it is written:
    # the journal's Grouped writer. Else the route does, after `record`.
    hands_on: bool = False
    own_trouble: Trouble = field(
        default_factory=lambda: Trouble("keeping the ids of the bot's own group messages"))


def with_deadline(record: Record, seconds: float = RECORD_SECONDS) -> Record:
    """`record` within `seconds`, for a database: one that hangs rather than refuses must not
    hold the acknowledgement (past the deadline the event is spooled). The receiving
    process's own journal goes without: written on the loop, it never waits, and a timer could
    not interrupt it anyway."""

    async def bounded(key: str, resource: str, event: str, body: dict[str, Any],
                      received_at: datetime) -> bool:
        async with asyncio.timeout(seconds):
            return await record(key, resource, event, body, received_at)

    return bounded


INTAKE: web.AppKey[Intake] = web.AppKey("intake")  # set by whoever serves the webhook route
