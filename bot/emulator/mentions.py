"""Webex mention syntax (<@personId:ID|Name>, <@personEmail:email|Name>) → text, html, ids."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.emulator.state import Identity

MENTION = re.compile(r"<@(personId|personEmail):([^|>]+)(?:\|([^>]*))?>")
MARKUP = re.compile(r"(\*\*|__|~~|`)")


@dataclass(frozen=True)
class Rendered:
    """A message body as Webex stores it."""

    text: str
    html: str
    mentioned: tuple[str, ...]


def render(source: str, lookup: Callable[[str, str], Identity | None], markdown: bool) -> Rendered:
    """Replace mentions by display names in text and spark-mention tags in html."""
    text_parts: list[str] = []
    html_parts: list[str] = []
    mentioned: list[str] = []
    position = 0
    for match in MENTION.finditer(source):
        before = source[position : match.start()]
        text_parts.append(_plain(before, markdown))
        html_parts.append(html.escape(_plain(before, markdown), quote=False))
        kind, key, label = match.groups()
        person = lookup(kind, key)
        if person is None:
            text_parts.append(label or key)
            html_parts.append(html.escape(label or key, quote=False))
        else:
            name = label or person.display_name
            if person.id not in mentioned:
                mentioned.append(person.id)
            text_parts.append(name)
            html_parts.append(
                f'<spark-mention data-object-type="person" data-object-id="{person.id}">'
                f"{html.escape(name, quote=False)}</spark-mention>"
            )
        position = match.end()
    tail = source[position:]
    text_parts.append(_plain(tail, markdown))
    html_parts.append(html.escape(_plain(tail, markdown), quote=False))
    body = "".join(html_parts).replace("\n", "<br/>")
    return Rendered("".join(text_parts), f"<p>{body}</p>", tuple(mentioned))


def _plain(fragment: str, markdown: bool) -> str:
    """Drop inline markdown markup, as Webex does when it derives text from markdown."""
    return MARKUP.sub("", fragment) if markdown else fragment
