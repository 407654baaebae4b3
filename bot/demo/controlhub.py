"""The chat's /controlhub words: a change an administrator makes in Control Hub, not via the bot."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

USAGE = "/controlhub [on [EMAIL] | off | email ADDRESS | all-locations on|off] [at LOCATION]"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOGGLE = {"on": True, "off": False}


@dataclass(frozen=True)
class Change:
    """What the person asked Control Hub to change; `location` None is the organization."""

    fields: dict[str, Any] = field(default_factory=dict)
    location: str | None = None


def _email(word: str) -> str:
    if not EMAIL.match(word):
        raise ValueError(f"{word!r} is not an email address")
    return word


def _on(rest: list[str]) -> dict[str, Any]:
    if len(rest) > 1:
        raise ValueError(f"on takes at most one address, not {' '.join(rest)!r}")
    fields: dict[str, Any] = {"emergencyCallNotificationEnabled": True}
    if rest:
        fields["emailAddress"] = _email(rest[0])
    return fields


def _off(rest: list[str]) -> dict[str, Any]:
    if rest:
        raise ValueError(f"off takes nothing more, not {' '.join(rest)!r}")
    return {"emergencyCallNotificationEnabled": False}


def _address(rest: list[str]) -> dict[str, Any]:
    if len(rest) != 1:
        raise ValueError("email takes one address: /controlhub email desk@example.com")
    return {"emailAddress": _email(rest[0])}


def _all_locations(rest: list[str]) -> dict[str, Any]:
    if len(rest) != 1 or rest[0].lower() not in TOGGLE:
        raise ValueError("all-locations takes on or off")
    return {"allowEmailNotificationAllLocationEnabled": TOGGLE[rest[0].lower()]}


VERBS: dict[str, Callable[[list[str]], dict[str, Any]]] = {
    "on": _on,
    "off": _off,
    "email": _address,
    "all-locations": _all_locations,
}


def parse(text: str) -> Change | None:
    """The change in `text` (None: just show the setting); ValueError says what is wrong."""
    words = text.split()
    location = None
    if "at" in (w.lower() for w in words):
        cut = [w.lower() for w in words].index("at")
        location = " ".join(words[cut + 1 :]).strip("\"'")
        words = words[:cut]
        if not location:
            raise ValueError("say which location after at")
    if not words:
        if location is not None:
            raise ValueError(f"say what to change at {location}: {USAGE}")
        return None
    verb = VERBS.get(words[0].lower())
    if verb is None:
        raise ValueError(f"unknown change {words[0]!r}: {USAGE}")
    fields = verb(words[1:])
    if location is not None and "allowEmailNotificationAllLocationEnabled" in fields:
        raise ValueError("all-locations is an organization setting, not a location's")
    return Change(fields, location)


def said(person: str, change: Change) -> str:
    """One line saying what the person did in Control Hub."""
    names = {
        "emergencyCallNotificationEnabled": "notifications",
        "allowEmailNotificationAllLocationEnabled": "all locations",
        "emailAddress": "email",
    }
    parts = [
        f"{names[k]} {'on' if v is True else 'off' if v is False else v}"
        for k, v in change.fields.items()
    ]
    where = f"location {change.location}" if change.location else "the organization"
    return f"[control hub] {person} set {', '.join(parts)} for {where}"
