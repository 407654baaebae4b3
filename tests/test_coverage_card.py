"""The coverage card: headline, uncovered first with why, names never ids, long lists cut."""

from __future__ import annotations

import pytest

from bot.views.coverage import CARD_ROWS, UNCOVERED_ROWS, CoverageRow, CoverageView, coverage_card
from tests.test_cards import AT, HOSTILE, NAMES, OFF, ON, assert_good, strings, walk

RIVERSIDE = CoverageRow("Riverside Clinic", True, "its own address", "desk@acme.example", "own")
HQ = CoverageRow("Headquarters", True, "the organization's address", "sec@acme.example",
                 "organization")
LAKESIDE = CoverageRow("Lakeside", False, "all-locations is off and the location has no "
                       "notification of its own")
BROKEN = CoverageRow("Northgate", False, "could not be read", tracking_id="EMU_42")


def view(rows: list[CoverageRow], **extra: object) -> CoverageView:
    covered = sum(1 for r in rows if r.covered)
    fields: dict[str, object] = {"org_name": "Acme", "organization": ON, "covered": covered,
                                 "total": len(rows), "rows": rows, "checked_at": AT, **extra}
    return CoverageView(**fields)  # type: ignore[arg-type]


def test_headline_and_rows_say_who_is_covered_and_why() -> None:
    message = coverage_card(view([LAKESIDE, BROKEN, RIVERSIDE, HQ]))
    assert_good(message)
    texts = strings(message.card)
    assert "2 of 4 locations covered" in texts
    assert texts.index("Lakeside") < texts.index("Northgate")
    assert "Webex tracking ID: EMU_42" in texts
    facts = [f for n in walk(message.card) for f in n.get("facts", [])]
    assert {"title": "Riverside Clinic", "value": "desk@acme.example (its own address)"} in facts
    assert {"title": "Headquarters",
            "value": "sec@acme.example (the organization's address)"} in facts
    md = message.markdown
    assert "**2 of 4 locations covered**" in md
    assert "**Lakeside**: not covered, all-locations is off" in md
    assert "EMU\\_42" in md and "desk@acme.example (its own address)" in md
    assert "python -m bot coverage" not in md  # nothing left out: no hint


def test_an_incomplete_list_is_never_reported_as_all() -> None:
    message = coverage_card(view([RIVERSIDE], complete=False, problem="Webex said 500",
                                 tracking_id="EMU_7"))
    assert_good(message)
    texts = strings(message.card)
    assert "1 of 1 locations covered (incomplete)" in texts
    assert any("this report is incomplete" in t for t in texts)
    assert "Webex tracking ID: EMU_7" in texts
    assert "incomplete" in message.markdown and "EMU\\_7" in message.markdown


def test_a_long_list_keeps_every_uncovered_location_and_counts_the_rest() -> None:
    uncovered = [CoverageRow(f"Gap {i:03d}", False, "on without an address") for i in range(12)]
    covered = [CoverageRow(f"Site {i:03d}", True, "its own address", f"s{i}@a.example", "own")
               for i in range(300)]
    message = coverage_card(view([*uncovered, *covered]))
    assert_good(message)
    texts = strings(message.card)
    assert all(f"Gap {i:03d}" in texts for i in range(12))
    facts = [f for n in walk(message.card) for f in n.get("facts", [])]
    assert len(facts) == CARD_ROWS - 12
    more = next(t for t in texts if t.startswith("…and"))
    assert f"{300 - (CARD_ROWS - 12)} covered not shown here" in more
    assert "python -m bot coverage --format csv|jsonl [--output FILE]" in more
    assert "python -m bot coverage" in message.markdown and "Gap 011" in message.markdown


def test_past_a_hundred_uncovered_the_card_counts_them_too() -> None:
    rows = [CoverageRow(f"Gap {i:04d}", False, "notifications are off for the organization")
            for i in range(1000)]
    message = coverage_card(view(rows, organization=OFF))
    assert_good(message)  # the markdown stays within Webex's limit, too
    texts = strings(message.card)
    assert sum(t.startswith("Gap ") for t in texts) == UNCOVERED_ROWS
    assert any(f"{1000 - UNCOVERED_ROWS} not covered not shown here" in t for t in texts)
    assert "0 of 1000 locations covered" in texts
    assert "Organization: notifications are OFF." in texts
    assert "not shown here" in message.markdown


@pytest.mark.parametrize("name", [*NAMES, HOSTILE, "", "x" * 256])
def test_any_location_name_is_shown_exactly(name: str) -> None:
    row = CoverageRow(name, False, "could not be read", tracking_id="EMU_1")
    message = coverage_card(view([row, RIVERSIDE]))
    assert_good(message)
    assert name in strings(message.card)


@pytest.mark.parametrize("rows", [[RIVERSIDE, HQ], [RIVERSIDE, LAKESIDE]])
def test_a_limited_report_never_reads_as_the_organizations(rows: list[CoverageRow]) -> None:
    message = coverage_card(view(rows, limited=True, org_name=HOSTILE))
    assert_good(message)
    texts = strings(message.card)
    headline = f"{sum(r.covered for r in rows)} of 2 locations covered (of the locations your " \
               "Webex sign-in can see)"
    assert headline in texts and f"**{headline}**" in message.markdown
    assert any("this is not" in t and "other locations" in t for t in texts)
    assert "other locations" in message.markdown and "[l](http://x)" not in message.markdown
    assert message.card["body"][1]["style"] == "attention"  # never the all-clear


def test_the_whole_organizations_report_says_nothing_of_a_sign_in() -> None:
    message = coverage_card(view([RIVERSIDE, HQ]))
    assert "2 of 2 locations covered" in strings(message.card)
    assert "sign-in" not in message.markdown and message.card["body"][1]["style"] == "good"
