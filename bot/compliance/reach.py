"""What the organization's setting alone says about coverage, and what a change of it uncovers.

By the covered rule (`coverage.judge`) the organization's setting reaches every location
(`ALL`: on, all-locations on, with an address), none (`NONE`: off), or only the locations with a
notification of their own (`OWN`): then each location's own setting decides, and only reading the
locations tells. A change can uncover a location only when it leaves `ALL` for anything else, or
turns notifications off; every other change leaves each location's verdict as it was or better.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.compliance.coverage import CoverageSnapshot, Reason, judge
from bot.models import NotificationSetting


class Reach(StrEnum):
    ALL = "all"
    OWN = "own"
    NONE = "none"


def reach(org: NotificationSetting) -> Reach:
    """Which locations the organization's setting covers by itself."""
    if not org.enabled:
        return Reach.NONE
    return Reach.ALL if org.all_locations and org.email else Reach.OWN


def may_uncover(before: NotificationSetting, after: NotificationSetting) -> bool:
    """Whether changing `before` to `after` can leave a covered location uncovered."""
    was, now = reach(before), reach(after)
    return was is not Reach.NONE and now is not Reach.ALL and (
        now is Reach.NONE or was is Reach.ALL)


@dataclass(frozen=True)
class Uncovering:
    """The locations a change would uncover, as far as a snapshot could tell.

    `lost`: names of locations covered before and not after; `total`: the locations counted;
    `unknown`: why some could not be judged (a location unreadable, the list incomplete), or
    None when every location was read."""

    lost: tuple[str, ...]
    total: int
    unknown: str | None = None


def uncovering(snapshot: CoverageSnapshot, before: NotificationSetting,
               after: NotificationSetting) -> Uncovering:
    """What changing `before` to `after` would do to the locations `snapshot` read."""
    lost = tuple(c.name for c in snapshot.locations if c.setting is not None
                 and judge(before, c.setting).covered and not judge(after, c.setting).covered)
    unreadable = sum(1 for c in snapshot.locations if c.verdict.reason is Reason.UNREADABLE)
    unknown = None
    if not snapshot.complete:
        unknown = "a page of the location list could not be read"
    elif unreadable:
        unknown = f"{unreadable} location{'s' if unreadable != 1 else ''} could not be read"
    return Uncovering(lost, len(snapshot.counted), unknown)
