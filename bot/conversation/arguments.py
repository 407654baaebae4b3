"""What a command takes after its name, declared with the command; words it does not take are
refused with the reason and its usage, so a command never runs as if they were absent.

A command declares one `Takes`: an optional positional `Value` and any `Option`s, each a word
that introduces a value (`Option("at", Value("<location>", read, words=None))` reads
`at Boston Clinic`); the usage line is generated from it, and the handler gets `Args`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.conversation.words import UnclosedQuote, quoted_name
from bot.email_address import InvalidEmail, parse_email
from bot.views.cards import escape_markdown

QUOTED_MAX = 80  # characters of the person's words repeated in a refusal


class NotUnderstood(ValueError):
    """The words after a command are not what it takes; `reason` says what, for the person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def quoted(words: str) -> str:
    """The person's words, repeated literally (escaped for the card, and cut when long)."""
    cut = words if len(words) <= QUOTED_MAX else words[:QUOTED_MAX] + "…"
    return f"“{escape_markdown(cut)}”"


@dataclass(frozen=True)
class Value:
    """One argument: how the usage shows it, and how to read it (ValueError with the reason)."""

    shown: str
    read: Callable[[str], Any]
    words: int | None = 1  # how many words it takes; None: all up to the next option word


@dataclass(frozen=True)
class Option:
    """A value introduced by a word of its own, such as `at <location>`."""

    word: str
    value: Value


@dataclass(frozen=True)
class Args:
    """What a command was given: its value (or None) and its options' values by word."""

    value: Any = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Takes:
    """Everything a command takes; nothing at all unless declared."""

    value: Value | None = None
    required: bool = False
    options: tuple[Option, ...] = ()

    @property
    def usage(self) -> str:
        """How the usage line shows what the command takes (after its name)."""
        parts = []
        if self.value is not None:
            parts.append(self.value.shown if self.required else f"[{self.value.shown}]")
        parts += [f"[{o.word} {o.value.shown}]" for o in self.options]
        return " ".join(parts)

    def parse(self, text: str) -> Args:
        """Read `text` (the words after the command's name), or raise NotUnderstood."""
        words = text.split()
        by_word = {o.word.lower(): o for o in self.options}
        positional: list[str] = []
        options: dict[str, Any] = {}
        i = 0
        while i < len(words):
            option = by_word.get(words[i].lower())
            if option is None:
                positional.append(words[i])
                i += 1
                continue
            if option.word in options:
                raise NotUnderstood(f"“{option.word}” was given twice.")
            limit = option.value.words
            end = len(words) if limit is None else i + 1  # None: all the rest is the value
            while end < len(words) and words[end].lower() not in by_word and end - i - 1 < (
                    limit or 0):
                end += 1
            taken = words[i + 1:end]
            options[option.word] = _read(option.value, " ".join(taken))  # "" is the Value's say
            i += 1 + len(taken)
        value = None
        if self.value is not None and positional:
            count = self.value.words or len(positional)
            value = _read(self.value, " ".join(positional[:count]))
            positional = positional[count:]
        if positional:
            raise NotUnderstood(f"I did not understand {quoted(' '.join(positional))}.")
        if self.value is not None and self.required and value is None:
            raise NotUnderstood(f"It needs {self.value.shown}.")
        return Args(value, options)


def _read(value: Value, text: str) -> Any:
    try:
        return value.read(text)
    except ValueError as error:
        raise NotUnderstood(str(error)) from None


NOTHING = Takes()


def _email(text: str) -> str:
    try:
        return parse_email(text)
    except InvalidEmail as refused:
        raise ValueError(f"{quoted(text)} is not an address I can use. {refused.reason}") from None


def _on_off(text: str) -> bool:
    words = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}
    if text.lower() not in words:
        raise ValueError(f"{quoted(text)} is not on or off.")
    return words[text.lower()]


_ASCII_NUMBER = re.compile(r"[0-9]{1,6}")  # str.isdigit() would take "²" and "٣" too


def number(maximum: int) -> Value:
    """A whole number from 1 to `maximum`, in ASCII digits."""
    def read(text: str) -> int:
        if not _ASCII_NUMBER.fullmatch(text) or not 1 <= int(text) <= maximum:
            raise ValueError(f"{quoted(text)} is not a number from 1 to {maximum}.")
        return int(text)

    return Value("n", read)


def _location(text: str) -> str:
    """A location's name: all of `text`, or what a quote opening it closes (words after the
    closing quote are refused, never folded into the name)."""
    try:
        name, after = quoted_name(text)
    except UnclosedQuote:
        raise ValueError(f"The quote before {quoted(text[1:])} is never closed: put the "
                         "location's name between two quotes.") from None
    if after:
        raise ValueError(f"I did not understand {quoted(after)}.")
    return name


EMAIL = Value("email", _email)
# `at <location>`: all the words after the first standalone "at" (so "Cafe at Main" needs no
# quotes), or the quoted name right after it; "" when none follow (the command says which it
# needs).
AT = Option("at", Value("<location>", _location, words=None))
ADDRESS = Value("<address>", _email)
ON_OFF = Value("on|off", _on_off)
