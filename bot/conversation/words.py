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


class UnclosedQuote(ValueError):
    """A location's name opens a quote that nothing closes."""


def split_target(args: str) -> tuple[str, str | None]:
    """(the words before `at`, the location's name) -- the name None when no `at` was typed,
    "" when `at` was typed without a name."""
    match = _TARGET.match(args.strip())
    if match is None:
        return args, None
    typed = match.group("name") or ""
    try:
        name = quoted_name(typed)[0]
    except UnclosedQuote:
        name = typed.strip()  # the command's own reading refuses it, naming the quote
    return match.group("before").strip(), name


def quoted_name(typed: str) -> tuple[str, str]:
    """(a location's name as typed, the words after its closing quote): a name that starts
    with a quote ends at the quote that closes it (the first one a space or the end follows,
    so `'Joe's Cafe'` keeps its apostrophe); without an opening quote all of it is the name.
    UnclosedQuote when an opening quote is never closed."""
    typed = typed.strip()
    close = _QUOTES.get(typed[:1])
    if close is None:
        return typed, ""
    ends = [i for i in range(1, len(typed)) if typed[i] == close]
    if not ends:
        raise UnclosedQuote(typed)
    end = next((i for i in ends if i + 1 == len(typed) or typed[i + 1].isspace()), ends[0])
    return typed[1:end].strip(), typed[end + 1:].strip()
