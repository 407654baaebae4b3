"""What changed between the state the watch last saw and a coverage snapshot, change by change.

The state kept between checks is JSON: the organization's three fields and, per calling
location, its name and its own two fields. Coverage before and after is recomputed from those
with the one covered rule (`coverage.judge`), so a location's verdict always matches the
organization's setting it is paired with.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from bot.compliance.coverage import CoverageSnapshot, Reason, Verdict, judge
from bot.models import NotificationSetting
from bot.webex.locations import LocationSetting

ORG_FIELDS = ("enabled", "all_locations", "email")
LOCATION_FIELDS = ("enabled", "email")
Seen = dict[str, Any]  # the JSON kept in the database


@dataclass(frozen=True)
class FieldChange:
    """One field of the setting: its name (the model's) and its value before and after."""

    name: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Coverage:
    """Whether a location is covered, and why (the reason's words), at one moment."""

    covered: bool
    reason: str
    email: str | None = None

    @classmethod
    def of(cls, verdict: Verdict) -> Coverage:
        return cls(verdict.covered, verdict.reason.value, verdict.email)


@dataclass(frozen=True)
class LocationFlip:
    """A location's coverage before and after a change (None: it was not there)."""

    id: str
    name: str
    before: Coverage | None
    after: Coverage | None


@dataclass(frozen=True)
class Change:
    """One change the watch reports: to the organization or to one location."""

    target_type: str  # "organization" | "location"
    target_id: str
    target_name: str
    kind: str = "changed"  # "changed" | "added" | "removed"
    fields: tuple[FieldChange, ...] = ()
    locations: tuple[LocationFlip, ...] = ()
    actor: dict[str, Any] = field(default_factory=lambda: {"kind": "outside"})
    covered: int = 0
    total: int = 0
    after_setting: dict[str, Any] | None = None  # the target's whole setting after, as Webex has it

    @property
    def alert(self) -> bool:
        """Turns notifications off, or leaves a location uncovered."""
        turned_off = any(f.name == "enabled" and f.before and not f.after for f in self.fields)
        uncovered = any(
            (flip.before is None or flip.before.covered)
            and flip.after is not None
            and not flip.after.covered
            for flip in self.locations
        )
        return turned_off or uncovered

    @property
    def restores(self) -> bool:
        """Brings at least one location back into coverage."""
        return any(
            f.after is not None and f.after.covered and (f.before is None or not f.before.covered)
            for f in self.locations
        )

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        def cov(value: dict[str, Any] | None) -> Coverage | None:
            return None if value is None else Coverage(**value)

        return cls(
            **{
                **data,
                "fields": tuple(FieldChange(**f) for f in data["fields"]),
                "locations": tuple(
                    LocationFlip(f["id"], f["name"], cov(f["before"]), cov(f["after"]))
                    for f in data["locations"]
                ),
            }
        )


def seen_of(snap: CoverageSnapshot, previous: Seen | None) -> Seen:
    """The state to keep: what was read, and for a location that could not be read this time,
    what was seen of it before (a failed read is never a change)."""
    kept = (previous or {}).get("locations", {})
    locations: dict[str, Any] = {}
    for place in snap.locations:
        if place.verdict.reason is Reason.GONE:
            continue
        if place.setting is None:
            if place.id in kept:
                locations[place.id] = {**kept[place.id], "name": place.name}
            continue
        locations[place.id] = {"name": place.name, "setting": place.setting.to_webex()}
    return {"org": snap.organization.to_webex(), "locations": locations}


def _own(entry: dict[str, Any]) -> LocationSetting:
    return LocationSetting.model_validate(entry["setting"])


def _fields(before: Any, after: Any, names: tuple[str, ...]) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(n, getattr(before, n), getattr(after, n))
        for n in names
        if getattr(before, n) != getattr(after, n)
    )


def changes_between(
    old: Seen, new: Seen, *, org_id: str, org_name: str, covered: int, total: int
) -> list[Change]:
    """Every change from `old` to `new`: the organization's first, then each location's
    (its own setting, or the location added or removed); `covered` of `total` is the
    coverage now. A location whose coverage moved only with the organization's setting is
    listed on the organization's change."""
    org_before = NotificationSetting.model_validate(old["org"])
    org_after = NotificationSetting.model_validate(new["org"])
    before, after = old["locations"], new["locations"]
    own_changes: list[Change] = []
    org_flips: list[LocationFlip] = []
    for loc_id in [*after, *(i for i in before if i not in after)]:
        was, now = before.get(loc_id), after.get(loc_id)
        name = (now or was)["name"]
        cov_was = Coverage.of(judge(org_before, _own(was))) if was else None
        cov_now = Coverage.of(judge(org_after, _own(now))) if now else None
        flip = LocationFlip(loc_id, name, cov_was, cov_now)
        if was is None or now is None:
            kind = "added" if was is None else "removed"
            own_changes.append(Change("location", loc_id, name, kind, locations=(flip,)))
            continue
        fields = _fields(_own(was), _own(now), LOCATION_FIELDS)
        if fields:
            own_changes.append(Change("location", loc_id, name, fields=fields, locations=(flip,),
                                      after_setting=now["setting"]))  # fmt: skip
        elif cov_was is not None and cov_now is not None and cov_was.covered != cov_now.covered:
            org_flips.append(flip)
    org_fields = _fields(org_before, org_after, ORG_FIELDS)
    found = [Change("organization", org_id, org_name, fields=org_fields,
                    locations=tuple(org_flips), after_setting=new["org"])
             ] if org_fields else []  # fmt: skip
    return [dataclasses.replace(c, covered=covered, total=total) for c in found + own_changes]
