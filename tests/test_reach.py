"""Which organization changes can uncover a location (and so are confirmed first)."""

from __future__ import annotations

import pytest

from bot.compliance.reach import Reach, may_uncover, reach
from bot.models import NotificationSetting

ALL = NotificationSetting(enabled=True, all_locations=True, email="desk@acme.example")
OWN = ALL.changed(all_locations=False)
OWN_NO_ADDRESS = ALL.changed(email="")
OFF = ALL.changed(enabled=False)


@pytest.mark.parametrize(("setting", "expected"), [
    (ALL, Reach.ALL), (OWN, Reach.OWN), (OWN_NO_ADDRESS, Reach.OWN), (OFF, Reach.NONE)])
def test_reach_of_the_organization_setting(setting: NotificationSetting, expected: Reach) -> None:
    assert reach(setting) is expected


@pytest.mark.parametrize(("before", "after", "uncovers"), [
    (ALL, OWN, True),  # all-locations off
    (ALL, OWN_NO_ADDRESS, True),  # the organization's address removed
    (ALL, OFF, True),
    (OWN, OFF, True),  # locations with their own notification lose it
    (OWN, ALL, False),
    (OFF, OWN, False),
    (OFF, ALL, False),
    (OWN, OWN.changed(email="other@acme.example"), False),
    (ALL, ALL.changed(email="other@acme.example"), False),
    (OFF, OFF.changed(all_locations=False), False),
])
def test_may_uncover(before: NotificationSetting, after: NotificationSetting,
                     uncovers: bool) -> None:
    assert may_uncover(before, after) is uncovers
