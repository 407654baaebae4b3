"""The watch's card: one change to the setting (or a location's), before → after, coverage now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.views.cards import CardMessage, escape_markdown, fit_markdown, format_utc
from bot.views.templating import expand, load_template

LOCATION_ROWS = 25  # locations listed on one card; the rest are counted


@dataclass(frozen=True)
class ChangeRow:
    """One line of before → after: a setting's field, or a location's coverage."""

    label: str
    before: str
    after: str


@dataclass(frozen=True)
class WatchChangeView:
    """What the watch found, in words: an alert when coverage broke, else a notice."""

    org_name: str
    alert: bool
    headline: str
    summary: str
    target: str
    rows: Sequence[ChangeRow]
    locations: Sequence[ChangeRow]
    coverage: str
    detected_at: datetime
    changed_by: str
    restore_token: str | None = None


def _rows(rows: Sequence[ChangeRow]) -> list[dict[str, str]]:
    return [{"label": r.label, "before": r.before, "after": r.after} for r in rows]


def watch_change_card(view: WatchChangeView) -> CardMessage:
    """The card posted to every watching space for one change."""
    title = f"Emergency call notifications — {view.org_name}"
    shown = list(view.locations[:LOCATION_ROWS])
    more = len(view.locations) - len(shown)
    more_text = f"…and {more} more locations." if more else ""
    detected = format_utc(view.detected_at)
    data = {
        "title": title,
        "style": "attention" if view.alert else "good",
        "color": "attention" if view.alert else "good",
        "headline": view.headline,
        "summary": view.summary,
        "target": view.target,
        "rows": _rows(view.rows),
        "hasRows": bool(view.rows),
        "locations": _rows(shown),
        "hasLocations": bool(shown),
        "more": more_text,
        "hasMore": bool(more),
        "coverage": view.coverage,
        "detectedAt": detected,
        "changedBy": view.changed_by,
        "hasRestore": view.restore_token is not None,
        "token": view.restore_token or "",
    }
    lines = [
        f"**{escape_markdown(view.headline)}** — {escape_markdown(title)}",
        escape_markdown(view.summary),
    ]
    if view.rows:
        lines.append(escape_markdown(view.target) + ":")
    for row in [*view.rows, *shown]:
        before, after = escape_markdown(row.before), escape_markdown(row.after)
        lines.append(f"- {escape_markdown(row.label)}: {before} → **{after}**")
    if more:
        lines.append(more_text)
    lines += [
        f"Coverage now: {escape_markdown(view.coverage)}",
        f"Detected {detected}; changed by {escape_markdown(view.changed_by)}",
    ]
    if view.restore_token is not None:
        lines.append("A Webex app that shows cards offers Restore on this card.")
    card = expand(load_template("watch_change"), data)
    return CardMessage(markdown=fit_markdown(lines), card=card)
