"""The watch's words: a change as its card says it, and the health notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.compliance.watch import CANNOT_CHECK
from bot.compliance.watch_diff import Change, Coverage, LocationFlip
from bot.views.cards import CardMessage, notice_card
from bot.views.watch_cards import ChangeRow, WatchChangeView

LABELS = {"enabled": "Notifications", "all_locations": "Email for all locations",
          "email": "Notification email"}  # fmt: skip
OUTSIDE = "outside this bot (Control Hub or the API)"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "On" if value else "Off"
    return str(value) if value else "(none)"


def _coverage(c: Coverage | None) -> str:
    if c is None:
        return "(not a calling location)"
    if c.covered:
        return f"Covered ({c.reason}: {c.email})" if c.email else f"Covered ({c.reason})"
    return f"Not covered: {c.reason}"


def changed_by(actor: dict[str, Any]) -> str:
    """Who made the change, in words: this bot's admin, the admin audit log's, or outside."""
    kind = actor.get("kind")
    if kind == "bot":
        who = actor.get("email") or actor.get("person_id")
        return f"{who} through this bot ({actor['source']})"
    if kind == "audit_log":
        who = " ".join(p for p in (actor.get("name"), f"({actor['email']})" if actor.get("email")
                                   else None) if p)  # fmt: skip
        at = datetime.fromisoformat(actor["at"]).strftime("%Y-%m-%d %H:%M UTC")
        return f"{who}, outside this bot, at {at} (Webex's admin audit log)"
    return OUTSIDE


def _headline(change: Change) -> str:
    where = f" at {change.target_name}" if change.target_type == "location" else ""
    lost = sum(1 for f in change.locations
               if f.after is not None and not f.after.covered)  # fmt: skip
    if change.alert and any(f.name == "enabled" and not f.after for f in change.fields):
        return f"Alert: emergency call notifications turned off{where}"
    if change.alert:
        return ("Alert: a new location is not covered" if change.kind == "added"
                else f"Alert: {lost} location{'s' if lost != 1 else ''} no longer covered")
    if change.kind in ("added", "removed"):
        return f"Notice: location {change.kind}"
    return "Notice: coverage restored" if change.restores else "Notice: setting changed"


def _summary(change: Change) -> str:
    name = change.target_name
    if change.kind == "added":
        return f"{name} is now a Webex Calling location."
    if change.kind == "removed":
        return f"{name} is no longer a Webex Calling location."
    what = (f"The setting of location {name}" if change.target_type == "location"
            else "The organization's setting")  # fmt: skip
    off = sum(1 for f in change.locations if f.after is not None and not f.after.covered)
    silent = f" Emergency calls from {off} location{'s' if off != 1 else ''} now send no " \
             "email." if change.alert and off else ""  # fmt: skip
    return f"{what} changed.{silent}"


def _shared(change: Change, flip: LocationFlip) -> str:
    """What a shared row must say: the other change alone would have done the same."""
    if not flip.shared:
        return ""
    other = ("the location's own setting" if change.target_type == "organization"
             else "the organization's setting")  # fmt: skip
    if flip.lost:
        return (f" ({other} changed too, and either change alone would have left it uncovered: "
                "undoing only this one does not cover it again)")
    return f" ({other} changed too, and either change alone would have covered it)"


def change_view(change: Change, org_name: str, detected_at: datetime,
                token: str | None) -> WatchChangeView:  # fmt: skip
    """The card's words for one change."""
    total = change.total
    return WatchChangeView(
        org_name=org_name, alert=change.alert, headline=_headline(change),
        summary=_summary(change),
        target=(f"Location: {change.target_name}" if change.target_type == "location"
                else f"Organization: {org_name}"),
        rows=[ChangeRow(LABELS[f.name], _value(f.before), _value(f.after)) for f in change.fields],
        locations=[ChangeRow(f.name, _coverage(f.before), _coverage(f.after) + _shared(change, f))
                   for f in change.locations],
        coverage=f"{change.covered} of {total} location{'s' if total != 1 else ''} covered",
        detected_at=detected_at, changed_by=changed_by(change.actor), restore_token=token,
    )  # fmt: skip


def restorable(change: Change) -> bool:
    """An alert about a change of the setting (not a location added) can be put back, when
    undoing it alone helps (never a location put back to a state still uncovered)."""
    return change.alert and change.kind == "changed" and bool(change.fields) and change.undo_helps


def restore_payload(change: Change) -> dict[str, Any]:
    return {"target_type": change.target_type, "target_id": change.target_id,
            "target_name": change.target_name, "after": change.after_setting,
            "restore": {f.name: f.before for f in change.fields},
            "expect": {f.name: f.after for f in change.fields}}  # fmt: skip


def health_notice(kind: str, body: dict[str, Any], org_name: str) -> CardMessage:
    """The "cannot check" notice, or the one saying checks succeed again."""
    if kind == CANNOT_CHECK:
        return notice_card(
            title=f"Cannot check emergency call notifications — {org_name}",
            text=f"The last {body.get('failures')} checks could not read the setting from Webex "
                 f"({body.get('detail') or 'no reason given'}). I keep trying; a change made "
                 "meanwhile is reported once a check succeeds.",
            style="warning", tracking_id=body.get("tracking_id"),
        )  # fmt: skip
    return notice_card(
        title=f"Checking again — {org_name}",
        text="Checks of the emergency call notification setting succeed again. Any change made "
             "while they failed is reported on its own card.", style="good",
    )  # fmt: skip
