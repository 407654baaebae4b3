"""The watch's card: valid 1.3, alert vs notice, Restore only when given, long lists counted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.compliance.watch_diff import changes_between
from bot.conversation.watch_words import change_view, restorable
from bot.views.cards import CardMessage
from bot.views.watch_cards import LOCATION_ROWS, ChangeRow, WatchChangeView, watch_change_card
from tests.test_cards import HOSTILE, assert_good, strings, submits

AT = datetime(2026, 12, 1, 20, 31, tzinfo=UTC)


def view(*, alert: bool = True, token: str | None = "tok-1", places: int = 1) -> WatchChangeView:  # noqa: S107 - a card token
    return WatchChangeView(
        org_name="Acme Health",
        alert=alert,
        headline="Alert: coverage broken" if alert else "Notice: coverage restored",
        summary="Emergency call notifications were turned off for the organization.",
        target="The organization",
        rows=[ChangeRow("Notifications", "On", "Off")],
        locations=[
            ChangeRow(f"Site {i:04d}", "Covered", "Not covered: notifications off")
            for i in range(places)
        ],
        coverage=f"0 of {places} locations covered",
        detected_at=AT,
        changed_by="outside this bot (Control Hub or the API)",
        restore_token=token,
    )


def test_an_alert_says_so_and_offers_restore_with_its_token() -> None:
    message = watch_change_card(view())
    assert_good(message)
    texts = strings(message.card)
    assert "Alert: coverage broken" in texts and "0 of 1 locations covered" in texts
    assert message.card["body"][1]["style"] == "attention"
    assert submits(message.card)["Restore"]["data"] == {"action": "watch_restore", "token": "tok-1"}
    assert "Site 0000: Covered → **Not covered: notifications off**" in message.markdown
    assert "2026-12-01 20:31 UTC" in message.markdown


def test_a_notice_has_no_restore() -> None:
    message = watch_change_card(view(alert=False, token=None))
    assert_good(message)
    assert message.card["body"][1]["style"] == "good"
    assert submits(message.card) == {} and message.card.get("actions", []) == []


def test_a_long_location_list_is_cut_and_counted_on_card_and_fallback() -> None:
    message = watch_change_card(view(places=1000))
    assert_good(message)
    texts = strings(message.card)
    assert f"Site {LOCATION_ROWS - 1:04d}" in texts and f"Site {LOCATION_ROWS:04d}" not in texts
    assert f"…and {1000 - LOCATION_ROWS} more locations." in texts
    assert "0 of 1000 locations covered" in message.markdown


@pytest.mark.parametrize("field", ["org_name", "summary", "changed_by", "target"])
def test_hostile_text_is_an_exact_value(field: str) -> None:
    hostile = WatchChangeView(**{**view().__dict__, field: HOSTILE})
    message = watch_change_card(hostile)
    assert_good(message)
    assert any(HOSTILE in s for s in strings(message.card))
    assert "**bold**" not in message.markdown


ORG_ON = {"emergencyCallNotificationEnabled": True,
          "allowEmailNotificationAllLocationEnabled": True,
          "emailAddress": "desk@acme.example"}  # fmt: skip
HQ_OFF = {"emergencyCallNotificationEnabled": False, "emailAddress": ""}
HQ_OWN = {"emergencyCallNotificationEnabled": True, "emailAddress": "hq2@acme.example"}


def cards_for(old: dict[str, Any], new: dict[str, Any]) -> list[CardMessage]:
    """The watch's cards for the changes from `old` to `new`, each with Restore when offered."""
    def state(org: dict[str, Any], **places: dict[str, Any]) -> dict[str, Any]:
        return {"org": org, "locations": {k: {"name": k, "setting": v} for k, v in places.items()}}

    changes = changes_between(state(**old), state(**new), org_id="org", org_name="Acme",
                              covered=0, total=2)  # fmt: skip
    return [watch_change_card(change_view(c, "Acme", AT, "tok" if restorable(c) else None))
            for c in changes]  # fmt: skip


def test_a_location_turned_on_as_the_org_turns_off_is_a_notice_and_the_org_s_alert_names_it(
) -> None:  # fmt: skip
    org, hq = cards_for({"org": ORG_ON, "Headquarters": HQ_OFF, "Lab": HQ_OFF},
                        {"org": {**ORG_ON, "emergencyCallNotificationEnabled": False},
                         "Headquarters": HQ_OWN, "Lab": HQ_OFF})  # fmt: skip
    assert "Emergency calls from 2 locations now send no email" in org.markdown
    assert "- Headquarters: Covered (the organization's address: desk@acme.example) → " \
           "**Not covered" in org.markdown  # fmt: skip
    assert "Restore" in submits(org.card)
    assert hq.markdown.startswith("**Notice: setting changed**")
    assert "Headquarters: Covered" not in hq.markdown
    assert submits(hq.card) == {}


def test_a_loss_either_change_would_cause_alone_says_so_and_both_can_be_restored() -> None:
    own_only = {**ORG_ON, "allowEmailNotificationAllLocationEnabled": False}
    hq_own = {**HQ_OWN, "emailAddress": "hq@acme.example"}
    org, hq = cards_for({"org": own_only, "Headquarters": hq_own},
                        {"org": {**own_only, "emergencyCallNotificationEnabled": False},
                         "Headquarters": HQ_OFF})  # fmt: skip
    for message in (org, hq):
        assert "either change alone would have left it uncovered: undoing only this one does " \
               "not cover it again" in message.markdown  # fmt: skip
    assert "the location's own setting changed too" in org.markdown
    assert "the organization's setting changed too" in hq.markdown
    assert hq.markdown.startswith("**Alert: emergency call notifications turned off at")
    # Each turned notifications off: putting either back uncovers nothing, and both are needed.
    assert "Restore" in submits(hq.card) and "Restore" in submits(org.card)
