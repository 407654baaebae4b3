"""Everything a handler may use, built once per app; tests pass their own through the factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.clock import utcnow
from bot.compliance.changes import ChangeService
from bot.conversation.card_tokens import CardTokens
from bot.conversation.ratelimit import RateLimiter
from bot.conversation.replies import Replier
from bot.metrics import Metrics
from bot.settings import Settings
from bot.store import Store
from bot.webex.auth import AdminAuth
from bot.webex.directory import Directory
from bot.webex.gateway import WebexGateway
from bot.webex.telephony import TelephonyClient


@dataclass(frozen=True)
class BotIdentity:
    id: str
    name: str


@dataclass(frozen=True)
class Services:
    settings: Settings
    bot: BotIdentity
    target_org: str
    webex: WebexGateway
    telephony: TelephonyClient
    directory: Directory
    store: Store
    replier: Replier
    changes: ChangeService
    tokens: CardTokens
    metrics: Metrics
    rate_limiter: RateLimiter
    admin: AdminAuth
    clock: Callable[[], datetime] = utcnow
