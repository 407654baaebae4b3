"""The per-event context: who asked, where, and the effects a handler may use; and what the
server hands the conversation to build one (`Conversation`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.compliance.changes import Acting, ChangeService
from bot.compliance.coverage import CoverageReader
from bot.conversation.card_tokens import CardTokens
from bot.conversation.ratelimit import RateLimiter
from bot.conversation.replies import Replier, Style
from bot.errors import BotError
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.security import Access, Permission
from bot.store import Store
from bot.views.cards import CardMessage
from bot.webex.directory import Directory
from bot.webex.gateway import WebexGateway
from bot.webex.locations import LocationsClient
from bot.webex.signin_flow import SignInFlow
from bot.webex.telephony import TelephonyClient

Source = Literal["command", "card"]


@dataclass(frozen=True)
class WatchControl:
    """What the watch commands need: the watch's tables, its interval, and a way to ask for a
    check now (after a change through the bot, or when a space starts watching)."""

    store: Store
    interval: float
    poke: Callable[[], None]


@dataclass(frozen=True)
class Effects:
    """What handlers may call: built once by the server (bot/server/wiring.py)."""

    setting: TelephonyClient
    changes: ChangeService
    tokens: CardTokens
    audit: Store  # the audit trail, for `history`
    directory: Directory
    replies: Replier
    metrics: Metrics
    clock: Callable[[], datetime]
    rate_limiter: RateLimiter  # per person, commands and card presses alike
    admin_trouble: Callable[[], str | None]  # why the admin identity is unusable, if it is
    coverage: CoverageReader  # the Service App's: the watch's; a person's is ctx.coverage
    locations: LocationsClient  # the Service App's: a person's is ctx.locations
    sign_in: SignInFlow | None = None  # CHANGES_WITH=admin: each admin's own token
    acting: Acting | None = None  # with it: person id → their own token
    watch: WatchControl | None = None  # the watch (bot/server/watch_loop.py), when it runs


@dataclass(frozen=True)
class Conversation:
    """What the event routes need besides the effects: who the bot is and how to read events."""

    bot_id: str
    bot_name: str
    org_id: str
    webex: WebexGateway
    effects: Effects

    def context(self, **facts: Any) -> Context:
        """The context of one request (the facts are Context's fields but the effects)."""
        return Context(effects=self.effects, org_id=self.org_id, **facts)


@dataclass(frozen=True)
class Context:
    """One request from one person in one space, already authenticated."""

    effects: Effects = field(repr=False)
    event_key: str
    org_id: str
    room_id: str
    room_type: str
    person_id: str
    person_email: str | None
    access: Access | None  # None when Webex could not tell (then only ANYONE commands run)
    source: Source
    thread_id: str | None = None  # where replies go in group spaces
    message_id: str | None = None  # the command message, or the card that was pressed
    outbox: Outbox = field(default_factory=Outbox)

    @property
    def setting(self) -> TelephonyClient:
        """The setting's client, acting as this person when changes use each admin's own
        sign-in (a person without one gets NotSignedIn at the first call)."""
        acting = self.effects.acting
        return self.effects.setting.acting_as(acting(self.person_id)) if acting \
            else self.effects.setting

    @property
    def locations(self) -> LocationsClient:
        """The locations' client, acting as this person like `setting`."""
        acting = self.effects.acting
        return self.effects.locations.acting_as(acting(self.person_id)) if acting \
            else self.effects.locations

    @property
    def coverage(self) -> CoverageReader:
        """The coverage reader, reading as this person like `setting` and `locations`."""
        if self.effects.acting is None:
            return self.effects.coverage
        return CoverageReader(self.setting, self.locations)

    @property
    def sees_part(self) -> bool:
        """Whether this person's own token may see only some of the organization's locations:
        a signed-in Location Administrator (Full, User and Read-only Administrators read every
        location, as Webex documents; the Service App too)."""
        return self.effects.acting is not None and (
            self.access is None or not self.access.allows(Permission.READ))

    @property
    def changes(self) -> ChangeService:
        return self.effects.changes

    @property
    def tokens(self) -> CardTokens:
        return self.effects.tokens

    @property
    def audit(self) -> Store:
        return self.effects.audit

    @property
    def metrics(self) -> Metrics:
        return self.effects.metrics

    @property
    def who(self) -> str:
        if self.access is not None:
            return self.access.person.label
        return self.person_email or "someone"

    @property
    def level(self) -> Permission:
        return self.access.level if self.access is not None else Permission.ANYONE

    def now(self) -> datetime:
        return self.effects.clock()

    async def org_name(self) -> str:
        return await self.effects.directory.org_name()

    async def send(self, reply: CardMessage | str, *, privately: bool = False) -> str | None:
        """Post `reply` (a card, or plain text) here (in the thread in group spaces), or
        `privately` in the person's 1:1 space; returns the new message id."""
        return await self.effects.replies.send(
            self, reply, to_person=self.person_id if privately else None)

    async def edit(self, message_id: str, text: str) -> bool:
        """Replace the words of a text message this event posted (never a card's)."""
        return await self.effects.replies.edit(self, message_id, text)

    async def notice(self, title: str, text: str, *, style: Style = "default") -> None:
        await self.effects.replies.notice(self, title, text, style=style)

    async def error(self, error: BotError) -> None:
        await self.effects.replies.error(self, error)
