"""The bot's cards: typed views fill `cards/*.json` templates; each has a markdown fallback.

Card text is markdown (TextBlock and FactSet render a subset of it), so every string that comes
from a person or from Webex (names, addresses, the organization's name, reasons, tracking ids) is
escaped before it is placed on a card, in the card and in its fallback alike: a typed
`[link](https://…)` shows as those characters, never as a link. Escaping was chosen over
`RichTextBlock`/`TextRun` because Webex does not document which clients render those. Text a
caller passes as `text` or `intro` is markdown the bot wrote: a user string placed in it must be
escaped with `escape_markdown` by that caller. Input values (the form's prefilled address) are
not markdown and are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from bot.views.templating import expand, load_template, validate_card

__all__ = [
    "CONTENT_TYPE",
    "MARKDOWN_LIMIT",
    "CardMessage",
    "Fact",
    "HistoryRow",
    "SettingView",
    "change_card",
    "change_message",
    "disable_confirm_card",
    "edit_form_card",
    "escape_markdown",
    "format_utc",
    "help_card",
    "history_card",
    "notice_card",
    "status_card",
    "validate_card",
    "whoami_card",
]

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MARKDOWN_LIMIT = 7439  # bytes, Webex's limit for a message's markdown
HISTORY_CARD_ROWS = 20  # more rows make a card too long to read in a chat
NONE_TEXT = "(none)"


@dataclass(frozen=True)
class CardMessage:
    markdown: str
    card: dict[str, Any]

    def attachments(self) -> list[dict[str, Any]]:
        return [{"contentType": CONTENT_TYPE, "content": self.card}]


@dataclass(frozen=True)
class SettingView:
    enabled: bool
    email: str | None
    all_locations: bool


@dataclass(frozen=True)
class Fact:
    title: str
    value: str


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    who: str
    source: str
    action: str
    before: SettingView | None
    after: SettingView | None
    outcome: str
    detail: str | None


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&])")


def escape_markdown(text: str) -> str:
    """User text made literal for Webex markdown, on one line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))


def format_utc(at: datetime) -> str:
    """A readable UTC time; a naive datetime is taken to be UTC already."""
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return aware.strftime("%Y-%m-%d %H:%M UTC")


def _title(org_name: str) -> str:
    return f"Emergency call notifications — {org_name}"


def _on_off(value: bool) -> str:
    return "On" if value else "Off"


def _setting_data(s: SettingView) -> dict[str, Any]:
    return {
        "enabled": s.enabled,
        "enabledText": _on_off(s.enabled),
        "enabledValue": "true" if s.enabled else "false",
        "email": s.email or "",  # an input's value: not markdown
        "emailText": escape_markdown(s.email) if s.email else NONE_TEXT,
        "hasEmail": bool(s.email),
        "allLocationsText": _on_off(s.all_locations),
        "allLocationsValue": "true" if s.all_locations else "false",
    }


def _fields(s: SettingView) -> list[tuple[str, str]]:
    """The setting as (label, value) rows, the values as plain text (not yet escaped)."""
    return [
        ("Notifications", _on_off(s.enabled)),
        ("Notification email", s.email or NONE_TEXT),
        ("Email for all locations", _on_off(s.all_locations)),
    ]


def _fit(lines: Sequence[str]) -> str:
    """Join lines, dropping the tail (marked with …) so the markdown stays within Webex's limit."""
    text = "\n".join(lines)
    if len(text.encode()) <= MARKDOWN_LIMIT:
        return text
    budget = MARKDOWN_LIMIT - len("\n…".encode())
    clipped = text.encode()[:budget].decode(errors="ignore")
    return clipped.rstrip("\\") + "\n…"


fit_markdown = _fit  # for the other card modules


def _md_facts(pairs: Sequence[tuple[str, str]]) -> list[str]:
    return [f"- {title}: {escape_markdown(value)}" for title, value in pairs]


def _message(name: str, data: Mapping[str, Any], lines: Sequence[str]) -> CardMessage:
    return CardMessage(markdown=_fit(lines), card=expand(load_template(name), data))


def status_card(
    *, org_name: str, setting: SettingView, checked_at: datetime, edit_token: str | None
) -> CardMessage:
    """The current setting, with an Edit button when the viewer may change it."""
    title, checked = _title(org_name), format_utc(checked_at)
    data = {
        "title": escape_markdown(title),
        "setting": _setting_data(setting),
        "checkedAt": checked,
        "hasEditToken": edit_token is not None,
        "editToken": edit_token,
    }
    lines = [f"**{escape_markdown(title)}**", *_md_facts(_fields(setting)), f"_Checked {checked}_"]
    return _message("status", data, lines)


Covered = bool | None  # a coverage line's verdict: covered, not, or not known
_COVERAGE_COLORS = {True: "good", False: "attention", None: "default"}


def change_card(
    *,
    org_name: str,
    before: SettingView,
    after: SettingView,
    changed_by: str,
    at: datetime,
    source: str,
    address_check: str | None = None,
    edit_token: str | None = None,
    coverage: str | None = None,
    covered: Covered = None,
) -> CardMessage:
    """Confirmation of a change: each field before → after, who, where, when. With
    `address_check` its first line asks whether notifications should go to that address (one
    the person did not just give); with `edit_token` it has an Edit button; `coverage` (the
    bot's markdown) says what the change left covered (`covered`: its colour)."""
    rows = [
        (label, old, new)
        for (label, old), (_, new) in zip(_fields(before), _fields(after), strict=True)
    ]
    return change_message(
        title=_title(org_name), org_name=org_name, rows=rows, changed_by=changed_by, at=at,
        source=source, address_check=address_check, edit_token=edit_token,
        coverage=coverage, covered=covered)


def change_message(
    *, title: str, org_name: str, rows: Sequence[tuple[str, str, str]], changed_by: str,
    at: datetime, source: str, address_check: str | None = None,
    edit_token: str | None = None, coverage: str | None = None, covered: Covered = None,
) -> CardMessage:
    """The change card (cards/change.json) from (label, before, after) rows of plain text."""
    when = format_utc(at)
    fields = [
        {"label": k, "before": escape_markdown(old), "after": escape_markdown(new),
         "changed": old != new} for k, old, new in rows
    ]
    data = {
        "title": escape_markdown(title),
        "fields": fields,
        "changedBy": escape_markdown(changed_by),
        "orgName": escape_markdown(org_name),
        "at": when,
        "source": source,
        "hasAddressCheck": address_check is not None,
        "addressCheck": escape_markdown(address_check or ""),
        "hasEditToken": edit_token is not None,
        "editToken": edit_token,
        "hasCoverage": coverage is not None,
        "coverage": coverage or "",
        "coverageColor": _COVERAGE_COLORS[covered],
    }
    lines = [f"**{escape_markdown(title)}**: setting changed"]
    if address_check is not None:
        lines.insert(0, f"**Notifications now go to {escape_markdown(address_check)} — is that "
                        "still right?**")
    if coverage is not None:
        lines.append(f"**{coverage}**")
    for label, old, new in rows:
        if old != new:
            lines.append(f"- {label}: {escape_markdown(old)} → **{escape_markdown(new)}**")
        else:
            lines.append(f"- {label}: {escape_markdown(new)} (unchanged)")
    lines.append(f"Changed by {escape_markdown(changed_by)} via {escape_markdown(source)}, {when}")
    return _message("change", data, lines)


def edit_form_card(
    *, org_name: str, setting: SettingView, token: str, expires_at: datetime
) -> CardMessage:
    """The form to change the setting, prefilled from it."""
    title, expires = _title(org_name), format_utc(expires_at)
    data = {"title": escape_markdown(title), "setting": _setting_data(setting), "token": token,
            "expiresAt": expires}
    lines = [
        f"**{escape_markdown(title)}**: edit form",
        *_md_facts(_fields(setting)),
        f"This form needs a Webex app that shows cards. It expires {expires}.",
    ]
    return _message("edit_form", data, lines)


def disable_confirm_card(
    *, org_name: str, setting: SettingView, requested_by: str, token: str, expires_at: datetime,
    consequence: str | None = None, question: str = "Turn off emergency call notifications?",
    confirm_label: str = "Turn off notifications", keep_label: str = "Keep them on",
) -> CardMessage:
    """Ask the requester to confirm a change that uncovers locations (turning notifications
    off, by default), stating what Kari's Law expects and what follows (`consequence` replaces
    the organization's sentence, e.g. for a location or for all-locations off)."""
    title, expires = _title(org_name), format_utc(expires_at)
    data = {
        "title": escape_markdown(title),
        "question": question,
        "confirmLabel": confirm_label,
        "keepLabel": keep_label,
        "orgName": escape_markdown(org_name),
        "setting": _setting_data(setting),
        "requestedBy": escape_markdown(requested_by),
        "token": token,
        "expiresAt": expires,
        "hasConsequence": consequence is not None,
        "consequence": escape_markdown(consequence or ""),  # plain text, like the fallback's
        "orgWithEmail": consequence is None and bool(setting.email),
        "orgWithoutEmail": consequence is None and not setting.email,
    }
    to = f" to {escape_markdown(setting.email)}" if setting.email else ""
    lines = [
        f"**{escape_markdown(title)}**: {question[:1].lower()}{question[1:]}",
        "Kari's Law (U.S. Public Law 115-127) requires that every emergency call notify someone "
        "who can respond, such as a front desk or security.",
        escape_markdown(consequence) if consequence is not None else
        f"If you turn this off, emergency calls from {escape_markdown(org_name)} send no email "
        f"notification{to}.",
        f"Only {escape_markdown(requested_by)} can confirm, on the card, until {expires}.",
    ]
    return _message("disable_confirm", data, lines)


def notice_card(
    *,
    title: str,
    text: str,
    style: Literal["good", "attention", "warning", "default"] = "default",
    facts: Sequence[Fact] = (),
    tracking_id: str | None = None,
) -> CardMessage:
    """A short message: a refusal, an error (with Webex's tracking id), a card already used.

    `title` and `text` are the bot's markdown; `facts` and `tracking_id` are escaped here."""
    data = {
        "title": title,
        "text": text,
        "style": style,
        "facts": [{"title": escape_markdown(f.title), "value": escape_markdown(f.value)}
                  for f in facts],
        "hasFacts": bool(facts),
        "hasTrackingId": bool(tracking_id),
        "trackingId": escape_markdown(tracking_id or ""),
    }
    lines = [
        f"**{escape_markdown(title)}**",
        escape_markdown(text),
        *(f"- {escape_markdown(f.title)}: {escape_markdown(f.value)}" for f in facts),
    ]
    if tracking_id:
        lines.append(f"Webex tracking ID: {escape_markdown(tracking_id)}")
    return _message("notice", data, lines)


def help_card(
    *,
    title: str,
    intro: str,
    commands: Sequence[tuple[str, str]],
    buttons: Sequence[tuple[str, str]],
    token: str | None,
) -> CardMessage:
    """Help and the welcome: (usage, description) rows, (title, action name) buttons."""
    data = {
        "title": title,
        "intro": intro,
        "token": token,
        "commands": [{"usage": u, "description": d} for u, d in commands],
        "buttons": [{"title": t, "action": a} for t, a in buttons],
    }
    lines = [
        f"**{escape_markdown(title)}**",
        escape_markdown(intro),
        *(f"- **{escape_markdown(u)}**: {escape_markdown(d)}" for u, d in commands),
    ]
    return _message("help", data, lines)


def whoami_card(
    *,
    display_name: str,
    email: str | None,
    org_name: str,
    roles: Sequence[str],
    allowed: Sequence[str],
    sign_in: str | None = None,
    org_text: str | None = None,
    roles_unseen: str | None = None,
) -> CardMessage:
    """Who the bot thinks the sender is and what they may do (and, with personal sign-in,
    whether and until when they are signed in). `org_name` is the organization the bot
    manages; `org_text` says the person's own when it is not that one, and `roles_unseen` why
    their roles cannot be shown (never "(none)" for roles the bot cannot see)."""
    title = f"Your access — {org_name}"
    roles_text = roles_unseen or ", ".join(roles) or NONE_TEXT
    org_text = org_text or org_name
    data = {
        "title": escape_markdown(title),
        "displayName": escape_markdown(display_name),
        "emailText": escape_markdown(email) if email else NONE_TEXT,
        "orgName": escape_markdown(org_name),
        "orgText": escape_markdown(org_text),
        "rolesText": escape_markdown(roles_text),
        "allowed": list(allowed),
        "hasAllowed": bool(allowed),
        "signIn": sign_in or "",
        "hasSignIn": bool(sign_in),
    }
    lines = [
        f"**{escape_markdown(title)}**",
        *_md_facts(
            [
                ("Name", display_name),
                ("Email", email or NONE_TEXT),
                ("Organization", org_text),
                ("Roles", roles_text),
            ]
        ),
        "You can: " + (", ".join(map(escape_markdown, allowed)) or "nothing here"),
        *([escape_markdown(sign_in)] if sign_in else []),
    ]
    return _message("whoami", data, lines)


def _describe_change(before: SettingView | None, after: SettingView | None) -> str:
    if before is None or after is None:
        known = after or before
        return "; ".join(f"{k}: {v}" for k, v in _fields(known)) if known else ""
    pairs = zip(_fields(before), _fields(after), strict=True)
    return "; ".join(f"{k}: {old} → {new}" for (k, old), (_, new) in pairs if old != new)


def _history_item(r: HistoryRow) -> dict[str, Any]:
    change = _describe_change(r.before, r.after)
    return {
        "at": format_utc(r.at),
        "who": escape_markdown(r.who),
        "source": escape_markdown(r.source),
        "action": escape_markdown(r.action),
        "outcome": escape_markdown(r.outcome),
        "change": escape_markdown(change),
        "hasChange": bool(change),
        "detail": escape_markdown(r.detail or ""),
        "hasDetail": bool(r.detail),
    }


def _history_line(r: HistoryRow) -> str:
    change = _describe_change(r.before, r.after)
    return (
        f"- {format_utc(r.at)} · {escape_markdown(r.who)} via {escape_markdown(r.source)}: "
        f"{escape_markdown(r.action)} ({escape_markdown(r.outcome)})"
        + (f". {escape_markdown(change)}" if change else "")
        + (f" — {escape_markdown(r.detail)}" if r.detail else "")  # why refused, tracking id
    )


def history_card(*, org_name: str, rows: Sequence[HistoryRow],
                 total: int | None = None) -> CardMessage:
    """The latest `rows` (newest first, at most HISTORY_CARD_ROWS) of `total` audit entries."""
    title = _title(org_name)
    shown = [_history_item(r) for r in rows[:HISTORY_CARD_ROWS]]
    total = max(total or 0, len(rows))
    if not rows:
        summary = "History: no changes recorded yet."
    elif total > len(shown):
        summary = f"History: the latest {len(shown)} of {total} entries."
    else:
        summary = f"History: {len(rows)} {'entry' if len(rows) == 1 else 'entries'}."
    data = {"title": escape_markdown(title), "summary": summary, "rows": shown}
    lines = [f"**{escape_markdown(title)}**", summary]
    footer_reserve = 80
    for i, row in enumerate(rows[: len(shown)]):
        line = _history_line(row)
        if len("\n".join([*lines, line]).encode()) > MARKDOWN_LIMIT - footer_reserve:
            lines.append(f"…and {len(rows) - i} more not shown here.")
            break
        lines.append(line)
    else:
        if len(rows) > len(shown):
            lines.append(f"…and {len(rows) - len(shown)} more not shown here.")
    return _message("history", data, lines)
