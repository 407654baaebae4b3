"""A location's own setting: the form to change it (filled from cards/location_form.json), and
the card confirming a change of it (cards/change.json)."""

from __future__ import annotations

from datetime import datetime

from bot.views.cards import (
    NONE_TEXT,
    CardMessage,
    Covered,
    SettingView,
    _message,
    _setting_data,
    change_message,
    escape_markdown,
    format_utc,
)


def location_form_card(
    *, org_name: str, location_name: str, setting: SettingView, token: str, expires_at: datetime
) -> CardMessage:
    """The location's toggle and address, prefilled; refused when stale like the org's form."""
    title = f"Emergency call notifications — {org_name} · {location_name}"
    expires = format_utc(expires_at)
    data = {"title": title, "locationName": location_name, "setting": _setting_data(setting),
            "token": token, "expiresAt": expires}
    lines = [
        f"**{escape_markdown(title)}**: edit form",
        f"- Location's own notification: {'On' if setting.enabled else 'Off'}",
        f"- Location's notification email: {escape_markdown(setting.email or '(none)')}",
        f"This form needs a Webex app that shows cards. It expires {expires}.",
    ]
    return _message("location_form", data, lines)


def _location_fields(s: SettingView) -> list[tuple[str, str]]:
    return [("Location's own notification", "On" if s.enabled else "Off"),
            ("Location's notification email", s.email or NONE_TEXT)]


def location_change_card(
    *, org_name: str, location_name: str, before: SettingView, after: SettingView,
    changed_by: str, at: datetime, source: str, coverage: str, covered: Covered,
) -> CardMessage:
    """A change of a location's own setting: only the fields that changed, before → after, and
    the location's coverage after it (`coverage`, the bot's markdown; `covered`: its colour)."""
    rows = [(label, old, new) for (label, old), (_, new)
            in zip(_location_fields(before), _location_fields(after), strict=True) if old != new]
    return change_message(
        title=f"Emergency call notifications — {org_name} · {location_name}", org_name=org_name,
        rows=rows, changed_by=changed_by, at=at, source=source, coverage=coverage,
        covered=covered)
