"""The personal sign-in flow: a single-use state bound to the person who asked, then the
callback's checks in order, keeping the tokens only when they are that person's.

A state is `<id>.<secret>`: the id finds the row, the secret's SHA-256 is compared in constant
time, so neither the database nor a timing difference gives a usable state away. It is used up
before anything else happens (a denied or failed sign-in included), and expires after 10 minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

import aiohttp
from pydantic import ValidationError

from bot.clock import utcnow
from bot.errors import WebexError
from bot.models import Person
from bot.sealing import Sealer, UnreadableSecret
from bot.settings import Settings
from bot.webex.oauth import Pkce, TokenEndpoint, authorize_url
from bot.webex.personal import PersonalTokens, TokenRows
from bot.webex.rest import WebexRest

log = logging.getLogger(__name__)
STATE_TTL = timedelta(minutes=10)
OAUTH_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


class StateRow(Protocol):
    @property
    def secret_hash(self) -> str: ...
    @property
    def person_id(self) -> str: ...
    @property
    def room_id(self) -> str | None: ...
    @property
    def verifier(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def used_at(self) -> datetime | None: ...


class StateRows(Protocol):
    async def create_sign_in_state(self, *, id: str, secret_hash: str, person_id: str,
                                   room_id: str | None, verifier: str, created_at: datetime,
                                   expires_at: datetime) -> None: ...
    async def get_sign_in_state(self, state_id: str) -> StateRow | None: ...
    async def use_sign_in_state(self, state_id: str, now: datetime) -> bool: ...


@dataclass(frozen=True)
class Started:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class Outcome:
    """How a callback ended. `kind`: signed_in, denied, unknown, expired, replayed,
    other_person, failed. `person_id`/`room_id`: who asked (known once the state checked out);
    `who`: the person Webex signed in; `detail`: a reason safe to show (never a token or code)."""

    kind: str
    person_id: str | None = None
    room_id: str | None = None
    who: Person | None = None
    detail: str = ""
    until: datetime | None = None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class SignInFlow:
    """Starts sign-ins and finishes them at the callback."""

    def __init__(self, states: StateRows, tokens: PersonalTokens, endpoint: TokenEndpoint,
                 sealer: Sealer, *, api_url: str, client_id: str, redirect_uri: str,
                 whose: Callable[[str], Awaitable[Person]],
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._states = states
        self.tokens = tokens
        self._endpoint = endpoint
        self._sealer = sealer
        self._api_url = api_url
        self._client_id = client_id
        self._redirect_uri = redirect_uri
        self._whose = whose
        self._clock = clock

    async def start(self, person_id: str, room_id: str | None) -> Started:
        """A new state for this person, and the authorize URL that carries it."""
        state_id, secret, pkce, now = secrets.token_hex(16), secrets.token_urlsafe(32), \
            Pkce.new(), self._clock()
        await self._states.create_sign_in_state(
            id=state_id, secret_hash=_digest(secret), person_id=person_id, room_id=room_id,
            verifier=self._sealer.seal(pkce.verifier), created_at=now,
            expires_at=now + STATE_TTL)
        url = authorize_url(self._api_url, client_id=self._client_id,
                            redirect_uri=self._redirect_uri, state=f"{state_id}.{secret}",
                            challenge=pkce.challenge)
        return Started(url, now + STATE_TTL)

    async def finish(self, state: str, code: str, error: str) -> Outcome:
        """Check the state, then the code, then whose token it is; keep the tokens last."""
        state_id, _, secret = state.partition(".")
        row = await self._states.get_sign_in_state(state_id) if state_id and secret else None
        if row is None or not hmac.compare_digest(_digest(secret), row.secret_hash):
            log.warning("sign-in callback with an unknown state")
            return Outcome("unknown")
        asked = Outcome("", row.person_id, row.room_id)
        now = self._clock()
        if row.used_at is not None:
            log.warning("sign-in callback replayed a used state of %s", row.person_id)
            return replace(asked, kind="replayed")
        if row.expires_at <= now or not await self._states.use_sign_in_state(state_id, now):
            fresh = await self._states.get_sign_in_state(state_id)
            kind = "replayed" if fresh is not None and fresh.used_at is not None else "expired"
            log.warning("sign-in callback with a %s state of %s", kind, row.person_id)
            return replace(asked, kind=kind)
        if error or not code:
            shown = error if OAUTH_ERROR_CODE.fullmatch(error) else "invalid_response"
            log.info("sign-in of %s ended at Webex: %s", row.person_id, shown)
            return replace(asked, kind="denied" if shown == "access_denied" else "failed",
                           detail=f"Webex answered {shown}.")
        return await self._exchange(row, code, asked)

    async def _exchange(self, row: StateRow, code: str, asked: Outcome) -> Outcome:
        try:
            verifier = self._sealer.open(row.verifier).value
            grant = await self._endpoint.exchange(code, verifier, self._redirect_uri)
            me = await self._whose(grant.access_token)
        except UnreadableSecret:
            return replace(asked, kind="failed",
                           detail="The bot cannot read its own sign-in record.")
        except WebexError as failure:
            log.warning("sign-in of %s failed at Webex: %s (tracking id %s)", row.person_id,
                        failure.user_message, failure.tracking_id)
            return replace(asked, kind="failed", detail=f"Webex did not complete it "
                           f"(tracking id {failure.tracking_id or '–'}).")
        if me.id != row.person_id:
            log.warning("sign-in asked by %s returned the token of %s: not kept",
                        row.person_id, me.id)
            return replace(asked, kind="other_person", who=me)
        await self.tokens.save(row.person_id, me.orgId or "", grant)
        status = await self.tokens.status(row.person_id)
        log.info("personal sign-in stored for %s", row.person_id)
        return replace(asked, kind="signed_in", who=me, until=status.until if status else None)


class TokenAndStateRows(StateRows, TokenRows, Protocol):
    """The store, as the sign-in flow uses it."""


def sign_in_flow(settings: Settings, session: aiohttp.ClientSession, rows: TokenAndStateRows,
                 rest: WebexRest) -> SignInFlow:
    """The flow the settings describe (CHANGES_WITH=admin; serve checked they are complete)."""
    sealer, secret = settings.sealer(), settings.WEBEX_INTEGRATION_CLIENT_SECRET
    client_id = settings.WEBEX_INTEGRATION_CLIENT_ID
    assert sealer is not None and secret is not None and client_id and settings.PUBLIC_URL
    endpoint = TokenEndpoint(session, settings.WEBEX_API_URL, client_id=client_id,
                             client_secret=secret.get_secret_value(),
                             timeout=settings.WEBEX_TIMEOUT_SECONDS)

    async def whose(token: str) -> Person:
        body = await rest.request("GET", "/people/me", token, endpoint="GET /people/me")
        try:
            return Person.model_validate(body)
        except ValidationError:
            raise WebexError("Webex answered /people/me in a way I could not read.",
                             endpoint="GET /people/me") from None

    return SignInFlow(rows, PersonalTokens(rows, sealer, endpoint, rest), endpoint, sealer,
                      api_url=settings.WEBEX_API_URL, client_id=client_id,
                      redirect_uri=settings.redirect_uri, whose=whose)
