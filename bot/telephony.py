"""The emergencyCallNotification client on aiohttp: GET and PUT, with bounded retries.

The SDK has no wrapper for this endpoint and its `put()` fails on the 204 it answers, so this is
our own small client. It returns our models and raises our errors.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from pydantic import ValidationError

from bot.auth import AdminAuth
from bot.errors import AdminTokenError, TransientWebexError, WebexError
from bot.models import NotificationSetting
from bot.retry import TRANSIENT_STATUSES, RetryPolicy, parse_retry_after, with_retries

log = logging.getLogger(__name__)
PATH = "/telephony/config/emergencyCallNotification"
Observer = Callable[[str, str, int, float], None]


def webex_error_message(body: Any) -> str:
    """The most specific human message in a Webex error body."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            for item in error.get("message") or []:
                if isinstance(item, dict) and item.get("description"):
                    return str(item["description"])
        for item in body.get("errors") or []:
            if isinstance(item, dict) and item.get("description"):
                return str(item["description"])
        if body.get("message"):
            return str(body["message"])
    return "Webex did not say why"


class TelephonyClient:
    """Reads and writes one organization's emergency call notification setting."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        auth: AdminAuth,
        *,
        policy: RetryPolicy,
        timeout: float = 10.0,
        observe: Observer | None = None,
    ) -> None:
        self._session = session
        self._url = api_url.rstrip("/") + PATH
        self._auth = auth
        self._policy = policy
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._observe = observe

    async def get(self, org_id: str) -> NotificationSetting:
        body = await self._call("GET", org_id, None)
        try:
            return NotificationSetting.model_validate(body)
        except ValidationError as error:
            raise WebexError(
                "Webex answered with a setting this bot cannot read.", endpoint=f"GET {PATH}"
            ) from error

    async def put(self, org_id: str, setting: NotificationSetting) -> None:
        """Write all three fields; Webex answers 204 with no body."""
        await self._call("PUT", org_id, setting.to_webex())

    async def _call(self, method: str, org_id: str, payload: dict[str, Any] | None) -> Any:
        refreshed = False

        async def attempt() -> Any:
            nonlocal refreshed
            token = await self._auth.token()
            try:
                return await self._once(method, org_id, payload, token)
            except AdminTokenError:
                if refreshed or not self._auth.can_refresh:
                    raise
                refreshed = True
                await self._auth.invalidate(token)
                return await self._once(method, org_id, payload, await self._auth.token())

        return await with_retries(attempt, self._policy, on_retry=self._on_retry)

    def _on_retry(self, endpoint: str, status: int | None) -> None:
        if self._observe is not None:
            self._observe(endpoint, "retry", status or 0, 0.0)

    async def _once(
        self, method: str, org_id: str, payload: dict[str, Any] | None, token: str
    ) -> Any:
        endpoint = f"{method} {PATH}"
        started = time.perf_counter()
        status = 0
        try:
            async with self._session.request(
                method,
                self._url,
                params={"orgId": org_id},
                json=payload,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self._timeout,
            ) as response:
                status = response.status
                tracking_id = response.headers.get("TrackingID")
                if status == 204:
                    return None
                body = await _json_or_none(response)
                if isinstance(body, dict):
                    tracking_id = body.get("trackingId") or tracking_id
                if 200 <= status < 300:
                    return body
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except (TimeoutError, aiohttp.ClientError) as error:
            raise TransientWebexError(
                "Webex did not answer in time.", endpoint=endpoint
            ) from error
        finally:
            if self._observe is not None:
                self._observe(endpoint, method, status, time.perf_counter() - started)
        message = webex_error_message(body)
        log.info("webex %s answered %d (tracking id %s)", endpoint, status, tracking_id)
        if status in TRANSIENT_STATUSES:
            raise TransientWebexError(
                message, status=status, tracking_id=tracking_id, endpoint=endpoint,
                retry_after=retry_after,
            )
        if status == 401:
            raise AdminTokenError(
                "Webex rejected the bot's admin token.", status=status,
                tracking_id=tracking_id, endpoint=endpoint,
            )
        raise WebexError(message, status=status, tracking_id=tracking_id, endpoint=endpoint)


async def _json_or_none(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError, asyncio.IncompleteReadError):
        return None
