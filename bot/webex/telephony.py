"""The emergencyCallNotification client: GET and PUT, with bounded retries.

The SDK has no wrapper for this endpoint and its `put()` fails on the 204 it answers, so this is
our own small client on aiohttp (bot.webex.rest). It returns our models and raises our errors.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from bot.errors import WebexError
from bot.models import NotificationSetting
from bot.webex.answers import ADMIN_REJECTED
from bot.webex.auth import AdminAuth
from bot.webex.rest import WebexRest, as_admin
from bot.webex.retry import RetryPolicy

PATH = "/telephony/config/emergencyCallNotification"


class TelephonyClient:
    """Reads and writes one organization's emergency call notification setting."""

    def __init__(
        self,
        rest: WebexRest,
        auth: AdminAuth,
        *,
        policy: RetryPolicy,
    ) -> None:
        self._rest = rest
        self._auth = auth
        self._policy = policy

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
        return await as_admin(
            self._auth, lambda token: self._once(method, org_id, payload, token),
            self._policy, self._rest.retried,
        )

    async def _once(
        self, method: str, org_id: str, payload: dict[str, Any] | None, token: str
    ) -> Any:
        return await self._rest.request(
            method, PATH, token, endpoint=f"{method} {PATH}", params={"orgId": org_id},
            json=payload, rejected=ADMIN_REJECTED,
        )
