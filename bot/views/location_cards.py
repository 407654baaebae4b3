"""A location's own setting: the form to change it (filled from cards/location_form.json)."""

from __future__ import annotations

from datetime import datetime

from bot.views.cards import (
    CardMessage,
    SettingView,
    _message,
    _setting_data,
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
