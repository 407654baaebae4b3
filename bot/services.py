"""Everything a handler may use, built once per app; tests pass their own through the factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.auth import AdminAuth
from bot.card_tokens import CardTokens
from bot.changes import ChangeService
from bot.clock import utcnow
from bot.directory import Directory
from bot.metrics import Metrics
from bot.ratelimit import RateLimiter
from bot.replies import Replier
from bot.settings import Settings
from bot.store import Store
from bot.telephony import TelephonyClient
from bot.webex import WebexGateway


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
