"""Each admin's own Webex tokens (personal sign-in): kept sealed, refreshed before they
expire, removed on sign-out (after asking Webex to revoke the grant) or when Webex refuses the
refresh.

`PersonalTokens.auth_for(person_id)` is an AdminAuth: the telephony client uses it exactly as it
uses the Service App's, so a 401 gets one refresh and one retry (bot.webex.rest.as_admin).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.clock import utcnow
from bot.errors import NotSignedIn, WebexError
from bot.sealing import Sealer, UnreadableSecret
from bot.webex.auth import REFRESH_MARGIN_SECONDS
from bot.webex.oauth import Grant, GrantRefused, TokenEndpoint
from bot.webex.rest import WebexRest

log = logging.getLogger(__name__)
REVOKE_REJECTED = "Webex no longer accepts your sign-in."
ASK_AGAIN = "Webex no longer accepts your sign-in (it expired or was revoked): sign in again."


class TokenRow(Protocol):
    @property
    def org_id(self) -> str: ...
    @property
    def sealed(self) -> str: ...
    @property
    def access_expires_at(self) -> datetime: ...
    @property
    def refresh_expires_at(self) -> datetime | None: ...


class TokenRows(Protocol):
    async def get_person_tokens(self, person_id: str) -> TokenRow | None: ...
    async def put_person_tokens(self, *, person_id: str, org_id: str, sealed: str,
                                access_expires_at: datetime,
                                refresh_expires_at: datetime | None, at: datetime) -> None: ...
    async def replace_person_tokens(self, *, person_id: str, previous: str, sealed: str,
                                    access_expires_at: datetime,
                                    refresh_expires_at: datetime | None,
                                    at: datetime) -> bool: ...
    async def delete_person_tokens(self, person_id: str) -> bool: ...


@dataclass(frozen=True)
class SignedIn:
    """What `whoami` says: the sign-in lasts as long as its refresh token."""

    org_id: str
    access_until: datetime
    until: datetime | None


@dataclass(frozen=True)
class SignedOut:
    """What `sign out` did: the bot's copy is always gone; `revoked` only when Webex answered
    that it revoked the grant (otherwise `problem` and `tracking_id` say what Webex said)."""

    revoked: bool
    problem: str | None = None
    tracking_id: str | None = None


def _at(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class PersonalTokens:
    """The signed-in admins' tokens in the database, sealed with TOKEN_ENCRYPTION_KEY."""

    def __init__(self, rows: TokenRows, sealer: Sealer, endpoint: TokenEndpoint,
                 rest: WebexRest, clock: Callable[[], datetime] = utcnow) -> None:
        self._rows = rows
        self._sealer = sealer
        self._endpoint = endpoint
        self._rest = rest  # for revoking: an API call like any other
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}

    def auth_for(self, person_id: str) -> PersonalAuth:
        """The AdminAuth that acts as this person."""
        return PersonalAuth(self, person_id)

    async def save(self, person_id: str, org_id: str, grant: Grant) -> None:
        """Keep a new sign-in's tokens (only after the person check passed)."""
        await self._rows.put_person_tokens(
            person_id=person_id, org_id=org_id, sealed=self._seal(grant),
            access_expires_at=_at(grant.access_expires_at) or self._clock(),
            refresh_expires_at=_at(grant.refresh_expires_at), at=self._clock())

    async def status(self, person_id: str) -> SignedIn | None:
        row = await self._rows.get_person_tokens(person_id)
        if row is None:
            return None
        return SignedIn(row.org_id, row.access_expires_at, row.refresh_expires_at)

    async def revoke(self, person_id: str) -> SignedOut | None:
        """Sign out: ask Webex to revoke the grant with the person's own access token
        (refreshed first when it expired; once more after a 401), then forget the tokens
        whatever Webex answered. None when the person was not signed in."""
        row = await self._rows.get_person_tokens(person_id)
        if row is None:
            return None
        outcome = SignedOut(False)
        try:
            outcome = await self._revoke_at_webex(person_id, row.org_id)
        except (NotSignedIn, WebexError) as error:  # NotSignedIn: Webex refused the refresh
            outcome = SignedOut(False, error.user_message, error.tracking_id)
        finally:
            await self.sign_out(person_id)
        log.info("sign-out of %s: Webex %s the grant (tracking id %s)", person_id,
                 "revoked" if outcome.revoked else "did not confirm revoking",
                 outcome.tracking_id)
        return outcome

    async def _revoke_at_webex(self, person_id: str, org_id: str) -> SignedOut:
        access = await self.access_token(person_id)
        try:
            await self._delete_authorization(access, org_id)
        except WebexError as error:
            if error.status != 401:
                raise
            await self._delete_authorization(
                await self.access_token(person_id, rejected=access), org_id)
        return SignedOut(True)

    async def _delete_authorization(self, access_token: str, org_id: str) -> None:
        """`DELETE /authorizations?clientId=…&orgId=…` with the person's own token: 204, or
        the error (status 401: the token was refused)."""
        await self._rest.request(
            "DELETE", "/authorizations", access_token, endpoint="DELETE /authorizations",
            params={"clientId": self._endpoint.client_id, "orgId": org_id},
            rejected=REVOKE_REJECTED)

    async def sign_out(self, person_id: str) -> bool:
        """Forget a person's tokens (at the bot only); True when they were signed in."""
        removed = await self._rows.delete_person_tokens(person_id)
        if removed:
            log.info("personal sign-in removed for %s", person_id)
        return removed

    async def access_token(self, person_id: str, *, rejected: str | None = None) -> str:
        """A usable access token; refreshed when it is about to expire or Webex just
        `rejected` it. Raises NotSignedIn when there is none (any more)."""
        lock = self._locks.setdefault(person_id, asyncio.Lock())
        async with lock:
            row = await self._rows.get_person_tokens(person_id)
            if row is None:
                raise NotSignedIn("You are not signed in with Webex.")
            access, refresh = await self._open(person_id, row)
            margin = (row.access_expires_at - self._clock()).total_seconds()
            if access != rejected and margin > REFRESH_MARGIN_SECONDS:
                return access
            return await self._refresh(person_id, row, refresh)

    async def _refresh(self, person_id: str, row: TokenRow, refresh: str | None) -> str:
        if refresh is None:
            await self.sign_out(person_id)
            raise NotSignedIn(ASK_AGAIN)
        try:
            grant = await self._endpoint.refresh(refresh)
        except GrantRefused as error:
            log.warning("Webex refused the refresh for %s (tracking id %s): tokens removed",
                        person_id, error.tracking_id)
            await self.sign_out(person_id)
            raise NotSignedIn(ASK_AGAIN, tracking_id=error.tracking_id) from None
        if grant.refresh_token is None:
            grant = Grant(grant.access_token, grant.access_expires_at, refresh,
                          grant.refresh_expires_at or _seconds(row.refresh_expires_at))
        stored = await self._rows.replace_person_tokens(
            person_id=person_id, previous=row.sealed, sealed=self._seal(grant),
            access_expires_at=_at(grant.access_expires_at) or self._clock(),
            refresh_expires_at=_at(grant.refresh_expires_at), at=self._clock())
        if stored:
            log.info("personal access token of %s refreshed", person_id)
        else:  # signed out, or another process refreshed: its row wins
            log.info("personal tokens of %s changed during a refresh; not overwritten", person_id)
        return grant.access_token

    def _seal(self, grant: Grant) -> str:
        return self._sealer.seal(json.dumps({"access_token": grant.access_token,
                                             "refresh_token": grant.refresh_token}))

    async def _open(self, person_id: str, row: TokenRow) -> tuple[str, str | None]:
        """The tokens; sealed with an older key, they are written back with the first one."""
        try:
            sealed = self._sealer.open(row.sealed)
            if sealed.stale:
                await self._rows.replace_person_tokens(
                    person_id=person_id, previous=row.sealed,
                    sealed=self._sealer.seal(sealed.value),
                    access_expires_at=row.access_expires_at,
                    refresh_expires_at=row.refresh_expires_at, at=self._clock())
            opened = json.loads(sealed.value)
        except UnreadableSecret:
            log.error("the tokens of %s cannot be opened with TOKEN_ENCRYPTION_KEY", person_id)
            raise NotSignedIn(
                "Your stored sign-in cannot be read any more (the operator changed the "
                "encryption key): sign in again.") from None
        return str(opened["access_token"]), opened.get("refresh_token")


def _seconds(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


class PersonalAuth:
    """AdminAuth for one person: their own token, one refresh on a 401."""

    can_refresh = True

    def __init__(self, tokens: PersonalTokens, person_id: str) -> None:
        self._tokens = tokens
        self.person_id = person_id
        self.last_error: str | None = None

    async def token(self) -> str:
        return await self._tokens.access_token(self.person_id)

    async def invalidate(self, token: str) -> None:
        await self._tokens.access_token(self.person_id, rejected=token)
