"""The watch's comparison as a table: each change once, on the right target, alert or notice."""

from __future__ import annotations

from typing import Any

import pytest

from bot.compliance.watch_diff import Change, changes_between

ON = {"emergencyCallNotificationEnabled": True, "allowEmailNotificationAllLocationEnabled": True,
      "emailAddress": "desk@acme.example"}  # fmt: skip
OWN = {"emergencyCallNotificationEnabled": True, "emailAddress": "hq@acme.example"}
NONE = {"emergencyCallNotificationEnabled": False, "emailAddress": ""}


def seen(org: dict[str, Any], **places: dict[str, Any]) -> dict[str, Any]:
    return {"org": org, "locations": {k: {"name": k.title(), "setting": v}
                                      for k, v in places.items()}}  # fmt: skip


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    return changes_between(old, new, org_id="org", org_name="Acme", covered=1, total=2)


def test_nothing_changed_is_no_change() -> None:
    assert diff(seen(ON, hq=OWN, lab=NONE), seen(ON, hq=OWN, lab=NONE)) == []


def test_notifications_off_for_the_org_is_one_alert_listing_every_location_it_uncovered() -> None:
    [change] = diff(seen(ON, hq=OWN, lab=NONE), seen({**ON, "emergencyCallNotificationEnabled":
                                                      False}, hq=OWN, lab=NONE))  # fmt: skip
    assert (change.target_type, change.target_name, change.alert) == ("organization", "Acme", True)
    assert [(f.name, f.before, f.after) for f in change.fields] == [("enabled", True, False)]
    assert [(f.name, f.before.covered, f.after.covered) for f in change.locations if f.before
            and f.after] == [("Hq", True, False), ("Lab", True, False)]  # fmt: skip
    assert (change.covered, change.total) == (1, 2)


def test_a_new_location_left_uncovered_is_an_alert_naming_it() -> None:
    off = {**ON, "allowEmailNotificationAllLocationEnabled": False}
    changes = diff(seen(off, hq=OWN), seen(off, hq=OWN, lab=NONE))
    [added] = changes
    assert (added.kind, added.target_name, added.alert) == ("added", "Lab", True)
    assert added.locations[0].before is None and added.locations[0].after is not None


def test_a_location_s_own_change_is_its_own_card_and_restoring_is_a_notice() -> None:
    off = {**ON, "allowEmailNotificationAllLocationEnabled": False}
    [broke] = diff(seen(off, hq=OWN), seen(off, hq=NONE))
    assert (broke.target_type, broke.target_name, broke.alert) == ("location", "Hq", True)
    assert [f.name for f in broke.fields] == ["enabled", "email"]
    [fixed] = diff(seen(off, hq=NONE), seen(off, hq=OWN))
    assert not fixed.alert and fixed.restores


def test_an_address_change_that_keeps_coverage_is_a_plain_notice() -> None:
    [change] = diff(seen(ON, lab=NONE), seen({**ON, "emailAddress": "new@acme.example"}, lab=NONE))
    assert not change.alert and not change.restores and change.locations == ()


def test_a_removed_location_is_a_notice_and_a_change_round_trips_as_json() -> None:
    [gone] = diff(seen(ON, hq=OWN, lab=NONE), seen(ON, hq=OWN))
    assert (gone.kind, gone.target_name, gone.alert) == ("removed", "Lab", False)
    assert Change.from_json(gone.to_json()) == gone


@pytest.mark.parametrize("org", [ON, {**ON, "emergencyCallNotificationEnabled": False}])
def test_org_and_location_changes_at_once_are_two_changes(org: dict[str, Any]) -> None:
    old = seen({**ON, "emailAddress": "old@acme.example"}, hq=OWN)
    changes = diff(old, seen(org, hq=NONE))
    assert [c.target_type for c in changes] == ["organization", "location"]
    assert changes[0].locations == ()  # hq's coverage is on its own card
