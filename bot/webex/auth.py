"""The admin identity's access token: a fixed one, or a Service App's, refreshed."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Protocol

import aiohttp

from bot.errors import AdminTokenError, WebexError
from bot.sealing import SecretStore, sealed_or_memory
from bot.settings import Settings
from bot.webex.oauth import GrantRefused, TokenEndpoint

log = logging.getLogger(__name__)
SECRET_NAME = "admin_oauth"  # noqa: S105 - the name of a row, not a secret
REFRESH_MARGIN_SECONDS = 300.0


class AdminAuth(Protocol):
    can_refresh: bool
    last_error: str | None

    async def token(self) -> str: ...
    async def invalidate(self, token: str) -> None: ...


class StaticAdminToken:
    """WEBEX_ADMIN_TOKEN as given; a 401 is final."""

    can_refresh = False

    def __init__(self, token: str) -> None:
        self._token = token
        self.last_error: str | None = None

    async def token(self) -> str:
        return self._token

    async def invalidate(self, token: str) -> None:
        self.last_error = "Webex rejected the admin token (WEBEX_ADMIN_TOKEN)."
        raise AdminTokenError(self.last_error)


class RefreshingAdminToken:
    """Keeps a Service App's access token fresh; rotated tokens are kept in the database
    (sealed: `secrets` is a bot.sealing.SealedSecrets)."""

    can_refresh = True

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        secrets: SecretStore,
        access_token: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._endpoint = TokenEndpoint(session, api_url, client_id=client_id,
                                       client_secret=client_secret, timeout=timeout)
        self._refresh_token = refresh_token
        self._secrets = secrets
        self._access_token = access_token
        self._expires_at = float("inf") if access_token else 0.0
        self._lock = asyncio.Lock()
        self._loaded = False
        self.last_error: str | None = None

    async def token(self) -> str:
        if self._access_token and time.time() < self._expires_at - REFRESH_MARGIN_SECONDS:
            return self._access_token
        async with self._lock:
            await self._load_stored()
            if self._access_token and time.time() < self._expires_at - REFRESH_MARGIN_SECONDS:
                return self._access_token
            return await self._refresh()

    async def invalidate(self, token: str) -> None:
        """A 401 with `token`: refresh unless another task already has."""
        async with self._lock:
            if self._access_token != token:
                return
            self._access_token = None
            self._loaded = False  # another replica may have rotated the tokens since
            await self._load_stored()
            if self._access_token not in (None, token):
                return  # a replica refreshed meanwhile: use its token
            await self._refresh()

    async def _load_stored(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        raw = await self._secrets.get_secret(SECRET_NAME)
        if raw:
            stored = json.loads(raw)
            self._refresh_token = stored.get("refresh_token") or self._refresh_token
            if stored.get("access_token") and stored.get("expires_at", 0) > time.time():
                self._access_token = stored["access_token"]
                self._expires_at = float(stored["expires_at"])

    async def _refresh(self) -> str:
        try:
            grant = await self._endpoint.refresh(self._refresh_token)
        except GrantRefused as error:
            return self._fail(f"Webex refused to refresh the admin token ({error.user_message})")
        except WebexError as error:
            return self._fail(error.user_message)
        self._access_token = grant.access_token
        self._expires_at = grant.access_expires_at
        self._refresh_token = grant.refresh_token or self._refresh_token
        await self._secrets.put_secret(
            SECRET_NAME,
            json.dumps(
                {
                    "access_token": self._access_token,
                    "expires_at": self._expires_at,
                    "refresh_token": self._refresh_token,
                }
            ),
        )
        self.last_error = None
        log.info("admin access token refreshed; valid for %ds", int(self._expires_at - time.time()))
        return self._access_token

    def _fail(self, message: str) -> str:
        self.last_error = message
        log.error("admin token refresh failed: %s", message)
        raise AdminTokenError(
            "The bot cannot reach the Webex admin API right now: its admin token could not be "
            "refreshed. The operator has been told in the logs."
        )


def admin_identity(
    settings: Settings, session: aiohttp.ClientSession, secrets: SecretStore
) -> AdminAuth | None:
    """The admin identity the settings describe (refreshed, or a fixed token); None if none."""
    if settings.uses_refresh_token:
        assert settings.WEBEX_CLIENT_SECRET and settings.WEBEX_ADMIN_REFRESH_TOKEN
        return RefreshingAdminToken(
            session, settings.WEBEX_API_URL,
            client_id=settings.WEBEX_CLIENT_ID or "",
            client_secret=settings.WEBEX_CLIENT_SECRET.get_secret_value(),
            refresh_token=settings.WEBEX_ADMIN_REFRESH_TOKEN.get_secret_value(),
            secrets=sealed_or_memory(secrets, settings.sealer()),
            access_token=(settings.WEBEX_ADMIN_TOKEN.get_secret_value()
                          if settings.WEBEX_ADMIN_TOKEN else None),
            timeout=settings.WEBEX_TIMEOUT_SECONDS,
        )
    if settings.WEBEX_ADMIN_TOKEN is None:
        return None
    return StaticAdminToken(settings.WEBEX_ADMIN_TOKEN.get_secret_value())
