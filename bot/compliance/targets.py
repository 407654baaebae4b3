"""The targets of a change -- the organization's setting, or one location's -- and finding a
location by the name a person typed.

Names match case-insensitively, by whole name first, then by a prefix that only one location
has. Anything else (no match, or a prefix several names share) names nothing, and the closest
names are offered instead: a command never acts on a location it had to guess.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from bot.models import NotificationSetting
from bot.webex.locations import CallingLocation, LocationsClient, LocationSetting
from bot.webex.telephony import TelephonyClient

CLOSEST = 5  # how many names an unknown or ambiguous name offers


class Setting(Protocol):
    def to_webex(self) -> dict[str, Any]: ...


S = TypeVar("S", bound=Setting)


@dataclass(frozen=True)
class SettingTarget(Generic[S]):
    """How to read, write and audit one target's setting."""

    kind: Literal["organization", "location"]
    read: Callable[[str], Awaitable[S]]
    write: Callable[[str, S], Awaitable[None]]
    parse: Callable[[dict[str, Any]], S]
    id: str | None = None  # the location's id
    name: str | None = None  # the location's name

    @property
    def lock(self) -> str | None:
        """What the store's lock is keyed by besides the organization (None: the org's own)."""
        return self.id if self.kind == "location" else None

    @property
    def audit_fields(self) -> dict[str, Any]:
        return {"target_type": self.kind, "target_id": self.id, "target_name": self.name}


def organization_target(telephony: TelephonyClient) -> SettingTarget[NotificationSetting]:
    return SettingTarget("organization", telephony.get, telephony.put,
                         NotificationSetting.model_validate)


def location_target(
    locations: LocationsClient, place: CallingLocation
) -> SettingTarget[LocationSetting]:
    """A location's own setting (the organization block Webex sends with it is left out: it is
    not the location's, and a change of it must not look like a change of the location)."""

    async def read(org_id: str) -> LocationSetting:
        return (await locations.get(org_id, place.id)).changed(organization=None)

    async def write(org_id: str, setting: LocationSetting) -> None:
        await locations.put(org_id, place.id, setting)

    return SettingTarget("location", read, write, LocationSetting.model_validate,
                         id=place.id, name=place.name)


@dataclass(frozen=True)
class LocationMatch:
    """The location a name names, or why none: `closest` names to offer instead (for an
    ambiguous name, the first few of the `fits` it fits)."""

    found: CallingLocation | None
    ambiguous: bool = False
    closest: tuple[str, ...] = ()
    fits: int = 0


def match_location(typed: str, places: Sequence[CallingLocation]) -> LocationMatch:
    """The location whose whole name is `typed`, else the only one it is a prefix of."""
    wanted = " ".join(typed.split()).casefold()
    if not wanted:
        return LocationMatch(None, closest=tuple(p.name for p in places[:CLOSEST]))
    exact = [p for p in places if " ".join(p.name.split()).casefold() == wanted]
    if len(exact) == 1:
        return LocationMatch(exact[0])
    prefixed = exact or [p for p in places if p.name.casefold().startswith(wanted)]
    if len(prefixed) == 1:
        return LocationMatch(prefixed[0])
    if prefixed:
        return LocationMatch(None, ambiguous=True,
                             closest=tuple(sorted(p.name for p in prefixed)[:CLOSEST]),
                             fits=len(prefixed))
    names = {p.name.casefold(): p.name for p in places}
    near = difflib.get_close_matches(wanted, list(names), n=CLOSEST, cutoff=0.4)
    contains = [n for k, n in names.items() if wanted in k and k not in near]
    return LocationMatch(None, closest=tuple([names[k] for k in near] + contains)[:CLOSEST])


async def all_locations(locations: LocationsClient, org_id: str) -> list[CallingLocation]:
    """Every Webex Calling location, every page (a page that fails raises WebexError)."""
    found: list[CallingLocation] = []
    async for page in locations.pages(org_id):
        found.extend(page)
    return found
