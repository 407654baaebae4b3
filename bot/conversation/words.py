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
    """(a location's name as typed, the words after its closing quote).

    A name between a pair of quotes that opens and ends `typed` is all that is between them
    (`'Veterans' Center'`, `‘Joe’s Cafe’`: the apostrophes inside are the name's). Otherwise a
    name that starts with a quote ends at the first of its closing quotes that a space follows
    (a double quote: else at its first closing quote), and what follows is returned apart, to
    be refused by name. A name without an opening quote is all of `typed`, and so is one that
    opens with an apostrophe no spaced apostrophe closes (`'s-Hertogenbosch Office`).
    UnclosedQuote when a double quote opens it and none closes it.
    """
    typed = typed.strip()
    close = _QUOTES.get(typed[:1])
    if close is None:
        return typed, ""
    if len(typed) >= 2 and typed.endswith(close):
        return typed[1:-1].strip(), ""
    closes = [i for i in range(1, len(typed)) if typed[i] == close]
    spaced = [i for i in closes if typed[i + 1:i + 2].isspace()]
    if close in ("'", "’"):
        if not spaced:
            return typed, ""  # an apostrophe, not a quote
        end = spaced[0]
    elif not closes:
        raise UnclosedQuote(typed)
    else:
        end = (spaced or closes)[0]  # `"Headquarters"please`: the quote closes it all the same
    return typed[1:end].strip(), typed[end + 1:].strip()
