"""Coverage: whether Webex will send an email for an emergency call from each calling location.

The rule ("covered"), as the README states it: a location is covered when the organization's
notifications are on, and either the location's own notification is on with an address, or
all-locations is on with an organization address. The location's own address wins over the
organization's (Cisco's admin guides: with all-locations on, the organization's address is used
for every location except one that defines its own). Where Webex's documentation does not settle
a case -- a location's own notification while the organization's is off -- the location is not
covered, and the reason says so. A location that could not be read is never covered.

The reader (`CoverageReader.read`) writes nothing. It reads the organization's setting, pages
through the Webex Calling locations by their `Link` header and reads each location's setting as
its page arrives; the locations client caps calls in flight per organization and holds every
call inside a Retry-After window.

Read with a token that may see only some of the organization's locations (`limited`: a Location
Administrator's own sign-in), the report is about those locations only, never the
organization's: Webex refuses such a token the organization's own setting, so the setting is
taken from the block Webex sends with each location's. When no location's answer carried it (the
token sees no calling location), the report has no organization setting and says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.aio import abandon
from bot.errors import WebexError
from bot.models import NotificationSetting
from bot.webex.locations import CallingLocation, LocationsClient, LocationSetting
from bot.webex.telephony import TelephonyClient

log = logging.getLogger(__name__)
Progress = Callable[[int, int, bool], Awaitable[None]]


class Reason(StrEnum):
    """Why a location is (or is not) covered; the value is what the report says."""

    OWN_ADDRESS = "its own address"
    ORG_ADDRESS = "the organization's address"
    ORG_OFF = "notifications are off for the organization"
    ORG_OFF_OWN_ON = (
        "notifications are off for the organization; Webex does not document whether the "
        "location's own notification is sent then, so it is not counted"
    )
    NO_OWN = "all-locations is off and the location has no notification of its own"
    NO_ADDRESS = "on without an address"
    UNREADABLE = "could not be read"
    GONE = "deleted since the list was read"


COVERED_REASONS = frozenset({Reason.OWN_ADDRESS, Reason.ORG_ADDRESS})


@dataclass(frozen=True)
class Verdict:
    """The rule's answer for one location: why, and the address that receives the email."""

    reason: Reason
    email: str | None = None

    @property
    def covered(self) -> bool:
        return self.reason in COVERED_REASONS


def judge(org: NotificationSetting, own: LocationSetting) -> Verdict:
    """The covered rule for one location, given the organization's setting and its own."""
    if not org.enabled:
        return Verdict(Reason.ORG_OFF_OWN_ON if own.enabled else Reason.ORG_OFF)
    if own.enabled and own.email:
        return Verdict(Reason.OWN_ADDRESS, own.email)
    if org.all_locations and org.email:
        return Verdict(Reason.ORG_ADDRESS, org.email)
    if own.enabled or org.all_locations:
        return Verdict(Reason.NO_ADDRESS)
    return Verdict(Reason.NO_OWN)


@dataclass(frozen=True)
class LocationCoverage:
    """One calling location in the report; `setting` is None when it could not be read."""

    id: str
    name: str
    verdict: Verdict
    setting: LocationSetting | None = None
    tracking_id: str | None = None

    @property
    def covered(self) -> bool:
        return self.verdict.covered


@dataclass(frozen=True)
class CoverageSnapshot:
    """The organization's setting and every calling location's coverage, as read just now.

    `complete` is False when a page of the list could not be read: the locations listed are
    then not all there are (`problem` and `tracking_id` say why). `organization_changed` is True
    when a location's read carried a different organization setting than the one read first.
    `limited` is True when the token may see only some of the organization's locations: the
    locations are then the ones it could see, and say nothing of the others. `organization` is
    None only then, when Webex refused the token the organization's setting and no location's
    answer carried it.
    """

    org_id: str
    organization: NotificationSetting | None
    locations: tuple[LocationCoverage, ...]
    complete: bool = True
    problem: str | None = None
    tracking_id: str | None = None
    organization_changed: bool = False
    limited: bool = False

    @property
    def counted(self) -> tuple[LocationCoverage, ...]:
        """The locations the headline counts (M): all but those deleted during the report."""
        return tuple(c for c in self.locations if c.verdict.reason is not Reason.GONE)

    @property
    def covered(self) -> int:
        return sum(1 for c in self.locations if c.covered)

    @property
    def uncovered(self) -> tuple[LocationCoverage, ...]:
        """Every location not covered (unreadable and gone included), in list order."""
        return tuple(c for c in self.locations if not c.covered)


class CoverageReader:
    """Reads an organization's coverage: one organization read, the list, one read per location."""

    def __init__(self, telephony: TelephonyClient, locations: LocationsClient) -> None:
        self._telephony = telephony
        self._locations = locations

    async def read(self, org_id: str, on_progress: Progress | None = None, *,
                   limited: bool = False) -> CoverageSnapshot:
        """The snapshot; raises WebexError only when the organization's setting cannot be read
        (`limited`: it is then taken from a location's answer, or left out).

        `on_progress(read, listed, listed_all)` is awaited after each page, once the list has
        ended (or failed), and after each location; keep it quick (the caller decides how
        often to show anything)."""
        org_task = asyncio.create_task(self._telephony.get(org_id))
        results: dict[str, LocationCoverage] = {}
        order: list[CallingLocation] = []
        seen: set[str] = set()  # a location a later page repeats is read once
        tasks: list[asyncio.Task[None]] = []
        complete, problem, tracking = True, None, None
        listed_all = False

        async def report() -> None:
            if on_progress is not None:
                await on_progress(len(results), len(order), listed_all)

        async def one(place: CallingLocation) -> None:
            results[place.id] = await self._one(org_id, place, org_task, limited)
            await report()

        try:
            try:
                async for page in self._locations.pages(org_id):
                    fresh = [p for p in {p.id: p for p in page}.values() if p.id not in seen]
                    seen.update(p.id for p in fresh)
                    order.extend(fresh)
                    tasks.extend(asyncio.create_task(one(p)) for p in fresh)
                    await report()
            except WebexError as error:
                complete, problem, tracking = False, error.user_message, error.tracking_id
                log.warning("coverage of %s: a page of locations failed (tracking id %s)",
                            org_id, error.tracking_id)
            listed_all = True
            await report()
            await asyncio.gather(*tasks)
            locations = tuple(results[p.id] for p in order)
            organization = await _organization(org_task, locations, limited)
        finally:
            for task in (*tasks, org_task):
                abandon(task)  # a failure here is already being raised
        changed = any(
            c.setting is not None and c.setting.organization not in (None, organization)
            for c in locations
        )
        return CoverageSnapshot(org_id, organization, locations, complete, problem, tracking,
                                changed, limited)

    async def _one(self, org_id: str, place: CallingLocation,
                   org_task: asyncio.Task[NotificationSetting],
                   limited: bool) -> LocationCoverage:
        try:
            setting = await self._locations.get(org_id, place.id)
        except WebexError as error:
            reason = Reason.GONE if error.status == 404 else Reason.UNREADABLE
            log.info("coverage of %s: location %s %s (tracking id %s)", org_id, place.id,
                     reason.name, error.tracking_id)
            return LocationCoverage(place.id, place.name, Verdict(reason),
                                    tracking_id=error.tracking_id)
        organization = setting.organization
        if organization is None:
            try:
                organization = await org_task
            except WebexError as error:
                if not limited:
                    raise
                return LocationCoverage(place.id, place.name, Verdict(Reason.UNREADABLE),
                                        setting, error.tracking_id)
        return LocationCoverage(place.id, place.name, judge(organization, setting), setting)


async def _organization(org_task: asyncio.Task[NotificationSetting],
                        locations: tuple[LocationCoverage, ...],
                        limited: bool) -> NotificationSetting | None:
    """The organization's setting as read; with a `limited` token that Webex refused it, as the
    first location's answer carried it, or None when none did (the token sees no location whose
    answer has it): a refusal of what such a token may never read is no failure of its report."""
    try:
        return await org_task
    except WebexError:
        if not limited:
            raise
        carried = next((c.setting.organization for c in locations
                        if c.setting is not None and c.setting.organization is not None), None)
        log.info("coverage: the organization's setting was refused to a limited token; %s",
                 "taken from a location's answer" if carried else "no location's answer had it")
        return carried
