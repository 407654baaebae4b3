"""Where the webhook receiver hands what it accepted: the same process's runner, or a worker
process (bot/server/serve.py). The receiver needs nothing else of the bot."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

# (key, resource, event, body, received at) → False when the key was recorded before.
Record = Callable[[str, str, str, dict[str, Any], datetime], Awaitable[bool]]
# The same, once recorded: hand it on to be run.
Accept = Callable[[str, str, str, dict[str, Any], datetime], object]


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


INTAKE: web.AppKey[Intake] = web.AppKey("intake")  # set by whoever serves the webhook route
