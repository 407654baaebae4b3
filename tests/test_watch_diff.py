"""The watch's comparison as a table: each change once, on the right target, alert or notice."""

from __future__ import annotations

from typing import Any

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


def test_org_and_location_changes_at_once_are_two_changes() -> None:
    old = seen({**ON, "emailAddress": "old@acme.example"}, hq=OWN)
    changes = diff(old, seen(ON, hq=NONE))
    assert [c.target_type for c in changes] == ["organization", "location"]
    assert changes[0].locations == ()  # hq stays covered: nothing moved with the organization
    assert not changes[0].alert and changes[1].alert  # hq turned its own notification off


OFF = {**ON, "emergencyCallNotificationEnabled": False}
OWN_ONLY = {**ON, "allowEmailNotificationAllLocationEnabled": False}  # each location its own


def rows(change: Change) -> list[tuple[str, bool | None, bool | None, bool]]:
    return [(f.name, f.before and f.before.covered, f.after and f.after.covered, f.shared)
            for f in change.locations]  # fmt: skip


def test_a_location_turned_on_as_the_org_turns_off_is_lost_to_the_org_not_to_itself() -> None:
    # The tester's demo: the organization turned off in Control Hub while an admin turned
    # Headquarters' own notification on through the bot, within one check.
    org, hq = diff(seen(ON, hq=NONE, lab=NONE), seen(OFF, hq=OWN, lab=NONE))
    assert (org.target_type, org.alert, org.undo_helps) == ("organization", True, True)
    assert rows(org) == [("Hq", True, False, False), ("Lab", True, False, False)]
    assert (hq.target_type, hq.alert, hq.restores, hq.undo_helps) == ("location", False, False,
                                                                       False)  # fmt: skip
    assert rows(hq) == [("Hq", False, False, False)]  # under the organization now: off either way


def test_changes_that_break_a_location_only_together_are_each_listed_and_each_undo_helps() -> None:
    # Each alone keeps hq covered (its own address; then the organization's); together not.
    org, hq = diff(seen(ON, hq=OWN), seen(OWN_ONLY, hq=NONE))
    assert rows(org) == [("Hq", True, False, False)] and org.alert and org.undo_helps
    assert rows(hq) == [("Hq", True, False, False)] and hq.alert and hq.undo_helps


def test_a_location_broken_by_its_own_change_under_the_new_org_is_not_on_the_org_s_card() -> None:
    # The organization's address changed (no coverage moved by it); hq turned itself off.
    org, hq = diff(seen(OWN_ONLY, hq=OWN), seen({**OWN_ONLY, "emailAddress": "x@acme.example"},
                                                hq=NONE))  # fmt: skip
    assert org.locations == () and not org.alert
    assert rows(hq) == [("Hq", True, False, False)] and hq.alert and hq.undo_helps


def test_a_loss_either_change_alone_would_cause_is_shared_and_both_may_be_undone() -> None:
    # The organization turned off and hq turned itself off with all-locations off: undoing
    # either alone leaves hq uncovered.
    org, hq = diff(seen(OWN_ONLY, hq=OWN), seen({**OWN_ONLY, "emergencyCallNotificationEnabled":
                                                 False}, hq=NONE))  # fmt: skip
    assert rows(org) == rows(hq) == [("Hq", True, False, True)]
    # Each turned notifications off: undoing either uncovers nothing, and both are needed.
    assert org.alert and org.undo_helps
    assert hq.alert and hq.undo_helps
    assert Change.from_json(hq.to_json()) == hq
