"""The Webex Calling locations: the paged list and each location's own notification setting.

Every call goes through the organization's pacer (at most WEBEX_MAX_CONCURRENCY in flight, none
inside a Retry-After window) and bounded retries. Pages are followed by the `Link` header as
Webex gives it, never by assuming a page size or that one page is all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import AliasChoices, Field, ValidationError, field_validator

from bot.errors import TransientWebexError, WebexError
from bot.models import NotificationSetting, _Webex
from bot.webex.answers import ADMIN_REJECTED
from bot.webex.auth import AdminAuth
from bot.webex.pacing import OrgPacer
from bot.webex.rest import Answer, WebexRest, as_admin
from bot.webex.retry import WAIT_STATUSES, RetryPolicy
from bot.webex.telephony import PERSON_REJECTED, own_refusal

LIST_PATH = "/telephony/config/locations"
EVERY_PATH = "/locations"  # every location, Webex Calling or not
SETTING_PATH = "/telephony/config/locations/{}/emergencyCallNotification"
SETTING_ENDPOINT = SETTING_PATH.format("{locationId}")
PAGE_SIZE = 1000  # what we ask for; Webex may send fewer, and the Link header says what is next


class CallingLocation(_Webex):
    """A Webex Calling location, as the list names it."""

    id: str = Field(min_length=1)
    name: str


class LocationSetting(_Webex):
    """A location's own emergency call notification setting, and the organization's as Webex
    returned it with the location (older SDKs call that block `customer`)."""

    enabled: bool = Field(alias="emergencyCallNotificationEnabled")
    email: str | None = Field(default=None, alias="emailAddress")
    organization: NotificationSetting | None = Field(
        default=None, validation_alias=AliasChoices("organization", "customer")
    )

    @field_validator("email", mode="before")
    @classmethod
    def _no_address(cls, value: Any) -> Any:
        """Webex says "no address" as "" or by leaving it out: one value for both."""
        return value or None

    def to_webex(self) -> dict[str, Any]:
        """Exactly the two fields the location-level PUT takes."""
        return {"emergencyCallNotificationEnabled": self.enabled, "emailAddress": self.email or ""}

    def changed(self, **fields: Any) -> LocationSetting:
        return self.model_copy(update=fields)


class LocationsClient:
    """Lists an organization's Webex Calling locations and reads or writes their setting."""

    def __init__(
        self, rest: WebexRest, auth: AdminAuth, pacer: OrgPacer, *, policy: RetryPolicy,
        personal: bool = False,
    ) -> None:
        self._rest = rest
        self._auth = auth
        self._pacer = pacer
        self._policy = policy
        self.personal = personal

    def acting_as(self, auth: AdminAuth) -> LocationsClient:
        """This client with an admin's own token (personal sign-in), sharing the pacer."""
        return LocationsClient(self._rest, auth, self._pacer, policy=self._policy,
                               personal=True)

    async def pages(self, org_id: str) -> AsyncIterator[list[CallingLocation]]:
        """Each page of the list in turn; a page that cannot be read raises WebexError."""
        async for body in self._every_page(LIST_PATH, org_id, {"max": str(PAGE_SIZE)}):
            yield _locations(body)

    async def names_containing(self, org_id: str, name: str) -> list[str]:
        """The names of every location, Webex Calling or not, whose name contains `name`
        (Webex's own filter, case-insensitive), every page; WebexError otherwise."""
        # orgId as for the telephony list: Webex takes it from partners (another org's
        # admins); for an organization's own admin it names the organization it is in.
        return [n async for body in self._every_page(EVERY_PATH, org_id, {"name": name})
                for n in _names(body)]

    async def _every_page(self, path: str, org_id: str,
                          params: dict[str, str]) -> AsyncIterator[Any]:
        """The body of each page of the list at `path`, following Webex's `Link: rel="next"`."""
        answer = await self._call("GET", path, org_id, endpoint=f"GET {path}",
                                  params={"orgId": org_id, **params})
        while True:
            yield answer.body
            if answer.next_url is None:
                return
            answer = await self._call("GET", answer.next_url, org_id, endpoint=f"GET {path}")

    async def get(self, org_id: str, location_id: str) -> LocationSetting:
        """The location's setting; WebexError (status 404 when it is gone) otherwise."""
        answer = await self._call(
            "GET", SETTING_PATH.format(location_id), org_id,
            endpoint=f"GET {SETTING_ENDPOINT}", params={"orgId": org_id},
        )
        try:
            return LocationSetting.model_validate(answer.body)
        except ValidationError as error:
            raise WebexError("Webex answered with a location setting this bot cannot read.",
                             endpoint=f"GET {SETTING_ENDPOINT}") from error

    async def put(self, org_id: str, location_id: str, setting: LocationSetting) -> None:
        """Write the location's two fields; Webex answers 204."""
        await self._call(
            "PUT", SETTING_PATH.format(location_id), org_id,
            endpoint=f"PUT {SETTING_ENDPOINT}", params={"orgId": org_id},
            json=setting.to_webex(),
        )

    async def _call(
        self, method: str, path: str, org_id: str, *, endpoint: str,
        params: dict[str, str] | None = None, json: dict[str, Any] | None = None,
    ) -> Answer:
        async def once(token: str) -> Answer:
            async with self._pacer.slot(org_id):
                try:
                    return await self._rest.fetch(method, path, token, endpoint=endpoint,
                                                  params=params, json=json,
                                                  rejected=PERSON_REJECTED if self.personal
                                                  else ADMIN_REJECTED)
                except TransientWebexError as error:
                    if error.status in WAIT_STATUSES:
                        self._pacer.hold(org_id, self._policy.delay(1, error))
                    raise

        try:
            return await as_admin(self._auth, once, self._policy, self._rest.retried)
        except WebexError as error:
            raise own_refusal(error) if self.personal else error from None


def _locations(body: Any) -> list[CallingLocation]:
    try:
        items = body["locations"] if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise TypeError("no list of locations")
        return [CallingLocation.model_validate(item) for item in items]
    except (TypeError, ValidationError) as error:
        raise WebexError("Webex answered with a list of locations this bot cannot read.",
                         endpoint=f"GET {LIST_PATH}") from error


def _names(body: Any) -> list[str]:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        raise WebexError("Webex answered with a list of locations this bot cannot read.",
                         endpoint=f"GET {EVERY_PATH}")
    return [i["name"] for i in items]
