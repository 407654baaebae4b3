"""The coverage report card ("N of M locations covered") and its markdown fallback.

Uncovered locations come first and are all shown up to UNCOVERED_ROWS (Webex documents no size
limit for a card; past a hundred rows it is no longer readable in a chat); covered ones fill the
card up to CARD_ROWS. Whatever is left out is counted, with the command that lists it all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.views.cards import MARKDOWN_LIMIT, CardMessage, SettingView, escape_markdown, format_utc
from bot.views.templating import expand, load_template

UNCOVERED_ROWS = 100
CARD_ROWS = 30
FULL_LIST = "python -m bot coverage --format csv|jsonl [--output FILE]"
SOURCES = {"own": "its own address", "organization": "the organization's address"}


@dataclass(frozen=True)
class CoverageRow:
    """One location as the report shows it: its name, never its id."""

    name: str
    covered: bool
    why: str
    email: str | None = None
    source: Literal["own", "organization"] | None = None
    tracking_id: str | None = None


@dataclass(frozen=True)
class CoverageView:
    org_name: str
    organization: SettingView | None  # None: the person's sign-in could not read it
    covered: int
    total: int
    rows: Sequence[CoverageRow]  # uncovered first, as they should be shown
    checked_at: datetime
    complete: bool = True
    problem: str | None = None
    tracking_id: str | None = None
    organization_changed: bool = False
    limited: bool = False  # only the locations the person's own sign-in can see were read


def headline(view: CoverageView) -> str:
    text = f"{view.covered} of {view.total} locations covered"
    if view.limited:
        text += " (of the locations your Webex sign-in can see)"
    return text if view.complete else text + " (incomplete)"


def _limited_text(org_name: str) -> str:
    return (f"Only the locations your own Webex sign-in can see were checked: this is not "
            f"{org_name}'s coverage, and says nothing of its other locations. A Full, "
            "User or Read-only Administrator's report covers them all.")


def _organization_text(s: SettingView | None) -> str:
    if s is None:
        return ("Organization: its setting is not shown; your Webex sign-in may not read it, "
                "and no location it can see carried it.")
    if not s.enabled:
        return "Organization: notifications are OFF."
    every = "on" if s.all_locations else "off"
    return f"Organization: notifications ON, to {s.email or '(no address)'}; all locations {every}."


def _incomplete_text(view: CoverageView) -> str:
    why = f" ({view.problem})" if view.problem else ""
    return ("Webex did not give the whole list of locations" + why + ": this report is "
            "incomplete, and locations not listed here were not checked. Try again later.")


def _more_text(left_uncovered: int, left_covered: int) -> str:
    parts = [f"{n} {what}" for n, what in ((left_uncovered, "not covered"),
                                          (left_covered, "covered")) if n]
    return f"…and {' and '.join(parts)} not shown here. The full list: {FULL_LIST}"


def coverage_card(view: CoverageView) -> CardMessage:
    """The report card and the same facts in markdown."""
    uncovered = [r for r in view.rows if not r.covered][:UNCOVERED_ROWS]
    covered = [r for r in view.rows if r.covered][: max(CARD_ROWS - len(uncovered), 0)]
    left_u = sum(1 for r in view.rows if not r.covered) - len(uncovered)
    left_c = sum(1 for r in view.rows if r.covered) - len(covered)
    all_good = view.complete and view.covered == view.total and not view.limited
    data = {
        "title": f"Emergency call notifications by location — {view.org_name}",
        "headline": headline(view),
        "style": "good" if all_good else "attention",
        "organizationText": _organization_text(view.organization),
        "incomplete": not view.complete,
        "incompleteText": _incomplete_text(view),
        "hasTrackingId": bool(view.tracking_id),
        "trackingId": view.tracking_id or "",
        "organizationChanged": view.organization_changed,
        "limited": view.limited,
        "limitedText": _limited_text(escape_markdown(view.org_name)),
        "hasUncovered": bool(uncovered),
        "uncovered": [{"name": r.name, "why": r.why, "hasTrackingId": bool(r.tracking_id),
                       "trackingId": r.tracking_id or ""} for r in uncovered],
        "hasCovered": bool(covered),
        "covered": [{"name": r.name, "email": r.email or "", "source": SOURCES[r.source or "own"]}
                    for r in covered],
        "truncated": bool(left_u or left_c),
        "moreText": _more_text(left_u, left_c),
        "checkedAt": format_utc(view.checked_at),
    }
    return CardMessage("\n".join(_markdown(view, data)), expand(load_template("coverage"), data))


def _row_line(r: CoverageRow) -> str:
    name = f"**{escape_markdown(r.name)}**"
    if r.covered:
        return f"- {name}: {escape_markdown(r.email or '')} ({SOURCES[r.source or 'own']})"
    tracking = f" (Webex tracking ID {escape_markdown(r.tracking_id)})" if r.tracking_id else ""
    return f"- {name}: not covered, {escape_markdown(r.why)}{tracking}"


def _markdown(view: CoverageView, data: Mapping[str, object]) -> list[str]:
    lines = [f"**{escape_markdown(str(data['title']))}**", f"**{headline(view)}**",
             escape_markdown(str(data["organizationText"]))]
    if view.limited:
        lines.append(escape_markdown(_limited_text(view.org_name)))
    if not view.complete:
        lines.append(escape_markdown(_incomplete_text(view)))
        if view.tracking_id:
            lines.append(f"Webex tracking ID: {escape_markdown(view.tracking_id)}")
    if view.organization_changed:
        lines.append("The organization's setting changed while this report ran: run it again.")
    footer = 160  # room for the "…and N more" line and the time
    rows = list(view.rows)
    for i, row in enumerate(rows):
        line = _row_line(row)
        if len("\n".join([*lines, line]).encode()) > MARKDOWN_LIMIT - footer:
            rest = rows[i:]
            left_u = sum(1 for r in rest if not r.covered)
            lines.append(escape_markdown(_more_text(left_u, len(rest) - left_u)))
            break
        lines.append(line)
    lines.append(f"_Checked {format_utc(view.checked_at)}_")
    return lines
