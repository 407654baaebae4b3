"""What changed between the state the watch last saw and a coverage snapshot, change by change.

The state kept between checks is JSON: the organization's three fields and, per calling
location, its name and its own two fields. Coverage before and after is recomputed from those
with the one covered rule (`coverage.judge`), so a location's verdict always matches the
organization's setting it is paired with.

A location whose coverage moved goes on the card of the change that moved it, each judged with
the other held as it is now: the location's own change moved it when its old fields and its new
ones give different coverage under the organization's setting now; the organization's change
moved it when the old and the new organization setting differ with the location's fields now.
Both can be true (together they broke it, and undoing either covers it again). When neither is
(either change alone would have done it) the location goes on both cards marked `shared`: no
one change can be blamed, and undoing one alone does not undo it. A location's own card shows
its coverage under the organization's setting now, before and after its change, so a location
turned on just as the organization turned off reads "not covered -> not covered", a notice.
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
    shared: bool = False  # the other change of the interval would have done this alone too

    @property
    def lost(self) -> bool:
        return (self.before is None or self.before.covered) and (
            self.after is not None and not self.after.covered)

    @property
    def gained(self) -> bool:
        return self.after is not None and self.after.covered and (
            self.before is None or not self.before.covered)


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
    def turned_off(self) -> bool:
        return any(f.name == "enabled" and f.before and not f.after for f in self.fields)

    @property
    def alert(self) -> bool:
        """Turns notifications off, or leaves a location uncovered."""
        return self.turned_off or any(flip.lost for flip in self.locations)

    @property
    def restores(self) -> bool:
        """Brings at least one location back into coverage."""
        return any(flip.gained for flip in self.locations)

    @property
    def undo_helps(self) -> bool:
        """Undoing this change alone is worth offering: it turns notifications back on (the
        organization's or the location's own: that uncovers nothing, whatever it covers), or it
        covers a location again (for a location, under the organization's setting now: its
        flip's `before`; never a shared loss, which undoing one change does not mend)."""
        if self.turned_off:
            return True
        if self.target_type == "location":
            return any(f.before is not None and f.before.covered and not f.shared
                       for f in self.locations)  # fmt: skip
        return any(f.lost and not f.shared for f in self.locations)

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
                    LocationFlip(f["id"], f["name"], cov(f["before"]), cov(f["after"]),
                                 f.get("shared", False))
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
    if snap.organization is None:  # Watch.check refuses such a snapshot before this
        raise ValueError("a snapshot without the organization's setting is no state to keep")
    return {"org": snap.organization.to_webex(), "locations": locations}


def _own(entry: dict[str, Any]) -> LocationSetting:
    return LocationSetting.model_validate(entry["setting"])


def _coverage(org: NotificationSetting, entry: dict[str, Any] | None) -> Coverage | None:
    return None if entry is None else Coverage.of(judge(org, _own(entry)))


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
    coverage now. A location whose coverage moved is listed on the change that moved it
    (the module's docstring)."""
    org_before = NotificationSetting.model_validate(old["org"])
    org_after = NotificationSetting.model_validate(new["org"])
    before, after = old["locations"], new["locations"]
    own_changes: list[Change] = []
    org_flips: list[LocationFlip] = []
    for loc_id in [*after, *(i for i in before if i not in after)]:
        was, now = before.get(loc_id), after.get(loc_id)
        name = (now or was)["name"]
        if was is None or now is None:
            flip = LocationFlip(loc_id, name, _coverage(org_before, was), _coverage(org_after, now))
            kind = "added" if was is None else "removed"
            own_changes.append(Change("location", loc_id, name, kind, locations=(flip,)))
            continue
        own_flip, org_flip = _flips(loc_id, name, org_before, org_after, _own(was), _own(now))
        if org_flip is not None:
            org_flips.append(org_flip)
        fields = _fields(_own(was), _own(now), LOCATION_FIELDS)
        if fields:
            own_changes.append(Change("location", loc_id, name, fields=fields,
                                      locations=(own_flip,),
                                      after_setting=now["setting"]))  # fmt: skip
    org_fields = _fields(org_before, org_after, ORG_FIELDS)
    found = [Change("organization", org_id, org_name, fields=org_fields,
                    locations=tuple(org_flips), after_setting=new["org"])
             ] if org_fields else []  # fmt: skip
    return [dataclasses.replace(c, covered=covered, total=total) for c in found + own_changes]


def _flips(
    loc_id: str, name: str, org_before: NotificationSetting, org_after: NotificationSetting,
    own_before: LocationSetting, own_after: LocationSetting,
) -> tuple[LocationFlip, LocationFlip | None]:
    """A location's row on its own change's card, and on the organization's (None: the
    organization's change did not move its coverage)."""
    was = Coverage.of(judge(org_before, own_before))
    now = Coverage.of(judge(org_after, own_after))
    # Its own change, with the organization held as it is now; the organization's, with the
    # location's fields held as they are now.
    own_was = Coverage.of(judge(org_after, own_before))
    org_was = Coverage.of(judge(org_before, own_after))
    moved = was.covered != now.covered
    by_own, by_org = own_was.covered != now.covered, org_was.covered != now.covered
    if moved and not (by_own or by_org):  # either change alone would have done it
        shared = LocationFlip(loc_id, name, was, now, shared=True)
        return shared, shared
    org_flip = LocationFlip(loc_id, name, was, now) if moved and by_org else None
    return LocationFlip(loc_id, name, own_was, now), org_flip
