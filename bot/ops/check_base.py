"""What the checks of `python -m bot check` share: a line of output, and the probe they read."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import aiohttp

from bot.models import Person
from bot.sealing import MemorySecrets
from bot.settings import Settings
from bot.store import Store
from bot.webex.auth import AdminAuth, admin_identity
from bot.webex.gateway import WebexGateway
from bot.webex.rest import WebexRest
from bot.webex.retry import RetryPolicy

MARKS = {True: "✓", False: "✗", None: "?"}


@dataclass(frozen=True)
class Line:
    """One check's verdict: ok True (holds), False (fails) or None (cannot be told here)."""

    ok: bool | None
    label: str
    detail: str
    hint: str = ""

    def render(self) -> str:
        text = f"{MARKS[self.ok]} {self.label:<34} {self.detail}"
        return text if self.ok or not self.hint else f"{text}\n      → {self.hint}"


@dataclass
class Probe:
    """The clients every check uses, built once, and what earlier checks learned."""

    settings: Settings
    session: aiohttp.ClientSession
    store: Store | None = None  # the database, when it exists at this code's schema
    admin_me: Person | None = None  # set by the admin token's check when Webex accepted it
    org_id: str | None = None
    role_names: dict[str, str] | None = None  # role id → name, once /roles answered

    @functools.cached_property
    def policy(self) -> RetryPolicy:
        # Diagnosis, not service: one retry, a short wait.
        return RetryPolicy(max_retries=min(self.settings.WEBEX_MAX_RETRIES, 1),
                           retry_after_cap=min(self.settings.RETRY_AFTER_CAP_SECONDS, 5.0))

    @functools.cached_property
    def rest(self) -> WebexRest:
        return WebexRest(self.session, self.settings.WEBEX_API_URL,
                         timeout=self.settings.WEBEX_TIMEOUT_SECONDS)

    @functools.cached_property
    def admin(self) -> AdminAuth | None:
        """The same admin identity `serve` builds (None when none is configured)."""
        return admin_identity(self.settings, self.session, self.store or MemorySecrets())

    @functools.cached_property
    def webex(self) -> WebexGateway:
        token = self.settings.WEBEX_BOT_TOKEN
        return WebexGateway(token.get_secret_value() if token else "", self.admin,
                            rest=self.rest, policy=self.policy)

    async def close(self) -> None:
        if "webex" in self.__dict__:
            self.webex.close()
        if self.store is not None:
            await self.store.close()
