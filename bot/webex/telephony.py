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
PERSON_REJECTED = "Webex rejected your own Webex sign-in."


def own_refusal(error: WebexError) -> WebexError:
    """A 403 to an admin's own token is Webex's refusal of that admin, said as such."""
    if error.status != 403:
        return error
    return WebexError(
        f"Webex refused this with your own Webex authorization: {error.user_message}",
        status=403, tracking_id=error.tracking_id, endpoint=error.endpoint)


class TelephonyClient:
    """Reads and writes one organization's emergency call notification setting."""

    def __init__(
        self,
        rest: WebexRest,
        auth: AdminAuth,
        *,
        policy: RetryPolicy,
        personal: bool = False,
    ) -> None:
        self._rest = rest
        self._auth = auth
        self._policy = policy
        self.personal = personal

    def acting_as(self, auth: AdminAuth) -> TelephonyClient:
        """This client with an admin's own token (personal sign-in): Webex decides with that
        admin's roles, and a refusal is reported as Webex's, with its tracking id."""
        return TelephonyClient(self._rest, auth, policy=self._policy, personal=True)

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
        try:
            return await as_admin(
                self._auth, lambda token: self._once(method, org_id, payload, token),
                self._policy, self._rest.retried,
            )
        except WebexError as error:
            raise own_refusal(error) if self.personal else error from None

    async def _once(
        self, method: str, org_id: str, payload: dict[str, Any] | None, token: str
    ) -> Any:
        return await self._rest.request(
            method, PATH, token, endpoint=f"{method} {PATH}", params={"orgId": org_id},
            json=payload, rejected=PERSON_REJECTED if self.personal else ADMIN_REJECTED,
        )
