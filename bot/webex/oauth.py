"""Webex's OAuth endpoints: the authorize URL (with PKCE), the code exchange and refresh.

`POST {WEBEX_API_URL}/access_token` (form-encoded) serves both the Service App's refresh and
personal sign-in; `{WEBEX_API_URL}/authorize` is the page the admin's browser opens. (Revoking
a grant is an ordinary API call with the person's token: bot/webex/personal.py.)
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.errors import TransientWebexError, WebexError
from bot.webex.answers import webex_error_message
from bot.webex.proxy import environ_proxy

# What the commands need with an admin's own token: who it is, and the setting read and written.
SCOPES = ("spark:people_read", "spark-admin:telephony_config_read",
          "spark-admin:telephony_config_write")
GRANT_REFUSED = frozenset({400, 401})  # invalid_grant / invalid_client: asking again will not help


class GrantRefused(WebexError):
    """Webex refused the code or the refresh token (invalid, expired, revoked); `code` is
    OAuth's `error` (invalid_grant, invalid_client, …) when Webex sent one."""

    def __init__(self, user_message: str, *, code: str = "", **details: Any) -> None:
        super().__init__(user_message, **details)
        self.code = code


@dataclass(frozen=True)
class Grant:
    """What the token endpoint answered, with absolute expiry times (seconds since the epoch)."""

    access_token: str
    access_expires_at: float
    refresh_token: str | None
    refresh_expires_at: float | None


@dataclass(frozen=True)
class Pkce:
    """A PKCE verifier and its S256 challenge (RFC 7636)."""

    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(64)  # 86 characters of the allowed alphabet
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).decode().rstrip("="))


def authorize_url(api_url: str, *, client_id: str, redirect_uri: str, state: str,
                  challenge: str, scopes: tuple[str, ...] = SCOPES) -> str:
    """The URL of Webex's authorize page for one sign-in."""
    query = urlencode({
        "client_id": client_id, "response_type": "code", "redirect_uri": redirect_uri,
        "scope": " ".join(scopes), "state": state, "code_challenge": challenge,
        "code_challenge_method": "S256",
    })  # fmt: skip
    return f"{api_url.rstrip('/')}/authorize?{query}"


class TokenEndpoint:
    """POST /access_token for one OAuth client."""

    def __init__(self, session: aiohttp.ClientSession, api_url: str, *, client_id: str,
                 client_secret: str, timeout: float = 10.0) -> None:
        self._session = session
        self._url = api_url.rstrip("/") + "/access_token"
        self._proxy = environ_proxy(self._url)
        self.client_id = client_id  # the Integration's: what sign-out revokes
        self._client = {"client_id": client_id, "client_secret": client_secret}
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def exchange(self, code: str, verifier: str, redirect_uri: str) -> Grant:
        """The tokens for an authorization code (grant_type=authorization_code)."""
        return await self._post({"grant_type": "authorization_code", "code": code,
                                 "redirect_uri": redirect_uri, "code_verifier": verifier})

    async def refresh(self, refresh_token: str) -> Grant:
        """New tokens from a refresh token (grant_type=refresh_token)."""
        return await self._post({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def _post(self, form: dict[str, str]) -> Grant:
        endpoint = f"POST /access_token ({form['grant_type']})"
        try:
            async with self._session.post(self._url, data={**self._client, **form},
                                          timeout=self._timeout, proxy=self._proxy) as reply:
                body: Any = await reply.json(content_type=None)
                status, tracking = reply.status, reply.headers.get("TrackingID")
        except (TimeoutError, aiohttp.ClientError, ValueError) as error:
            raise TransientWebexError(
                f"Webex did not answer the token request ({type(error).__name__}).",
                endpoint=endpoint) from None
        if isinstance(body, dict):
            tracking = body.get("trackingId") or tracking
        if status == 200 and isinstance(body, dict) and body.get("access_token"):
            return _grant(body)
        reason = webex_error_message(body)
        details: dict[str, Any] = {"status": status, "tracking_id": tracking, "endpoint": endpoint}
        if status in GRANT_REFUSED:
            code = body.get("error") if isinstance(body, dict) else None
            raise GrantRefused(f"Webex refused it ({status}: {reason}).",
                               code=code if isinstance(code, str) else "", **details)
        raise TransientWebexError(f"Webex could not answer ({status}: {reason}).", **details)


def _grant(body: dict[str, Any]) -> Grant:
    now = time.time()
    refresh_in = body.get("refresh_token_expires_in")
    return Grant(
        access_token=str(body["access_token"]),
        access_expires_at=now + float(body.get("expires_in") or 3600),
        refresh_token=str(body["refresh_token"]) if body.get("refresh_token") else None,
        refresh_expires_at=now + float(refresh_in) if refresh_in else None,
    )
