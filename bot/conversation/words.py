"""Reading what a person typed: an email address, on/off, and the `at <location>` target."""

from __future__ import annotations

import re

from pydantic import ValidationError

from bot.models import EMAIL

ON_WORDS = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}
# The first standalone "at" starts the location's name (so "Cafe at Main" needs no quotes unless
# the words before it hold an "at" too); quotes around the name are taken off.
_TARGET = re.compile(r"^(?P<before>(?:.*?\s)??)at(?:\s+(?P<name>.*))?$", re.IGNORECASE | re.DOTALL)
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’"}


def valid_email(text: str) -> str | None:
    try:
        return str(EMAIL.validate_python(text.strip()))
    except ValidationError:
        return None


def split_target(args: str) -> tuple[str, str | None]:
    """(the words before `at`, the location's name) -- the name None when no `at` was typed,
    "" when `at` was typed without a name."""
    match = _TARGET.match(args.strip())
    if match is None:
        return args, None
    name = (match.group("name") or "").strip()
    if len(name) >= 2 and _QUOTES.get(name[0]) == name[-1]:
        name = name[1:-1].strip()
    return match.group("before").strip(), name
