"""Adaptive Cards and messages drawn as plain terminal text, and card inputs read back from it."""

from __future__ import annotations

import re
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

try:
    import readline  # line editing for input(), and the typed text to redraw
except ImportError:  # not on every platform
    readline = None  # type: ignore[assignment]

WIDTH = 78
CONTAINERS = ("Container", "Column")
TOGGLE_WORDS = {
    "y": True,
    "yes": True,
    "on": True,
    "true": True,
    "1": True,
    "n": False,
    "no": False,
    "off": False,
    "false": False,
    "0": False,
}


@dataclass(frozen=True)
class Button:
    """One pressable action of a card, numbered from 1 in the order a client draws them."""

    number: int
    title: str
    kind: str
    action: dict[str, Any]

    @property
    def data(self) -> dict[str, Any]:
        data = self.action.get("data")
        return dict(data) if isinstance(data, dict) else {}

    @property
    def sends_inputs(self) -> bool:
        return self.kind == "Action.Submit" and self.action.get("associatedInputs") != "none"


def visible(elements: Any) -> Iterator[dict[str, Any]]:
    """Elements of a list that a client would draw (isVisible false ones are hidden)."""
    for element in elements or []:
        if isinstance(element, dict) and element.get("isVisible", True) is not False:
            yield element


def inputs_of(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every visible input on the card, in reading order."""
    found: list[dict[str, Any]] = []

    def walk(elements: Any) -> None:
        for element in visible(elements):
            kind = str(element.get("type", ""))
            if kind.startswith("Input."):
                found.append(element)
            elif kind in CONTAINERS:
                walk(element.get("items"))
            elif kind == "ColumnSet":
                walk(element.get("columns"))

    walk(card.get("body"))
    return found


def buttons_of(card: dict[str, Any]) -> list[Button]:
    """The card's actions (body ActionSets first, then the card's own actions), numbered."""
    actions: list[dict[str, Any]] = []

    def walk(elements: Any) -> None:
        for element in visible(elements):
            kind = element.get("type")
            if kind == "ActionSet":
                actions.extend(visible(element.get("actions")))
            elif kind in CONTAINERS:
                walk(element.get("items"))
            elif kind == "ColumnSet":
                walk(element.get("columns"))

    walk(card.get("body"))
    actions.extend(visible(card.get("actions")))
    return [
        Button(n, str(a.get("title") or a.get("type")), str(a.get("type")), a)
        for n, a in enumerate(actions, 1)
    ]


def find_button(card: dict[str, Any], wanted: str) -> Button | None:
    """A button by number or by title (case-insensitive; a unique prefix is enough)."""
    buttons = buttons_of(card)
    if wanted.isdigit():
        return next((b for b in buttons if b.number == int(wanted)), None)
    lowered = wanted.strip().lower()
    exact = [b for b in buttons if b.title.lower() == lowered]
    prefixed = [b for b in buttons if b.title.lower().startswith(lowered)]
    matches = exact or prefixed
    return matches[0] if len(matches) == 1 else None


def input_label(element: dict[str, Any]) -> str:
    return str(element.get("label") or element.get("title") or element.get("id"))


def toggle_is_on(element: dict[str, Any], value: Any = None) -> bool:
    current = element.get("value") if value is None else value
    return str(current) == str(element.get("valueOn", "true"))


def parse_toggle(answer: str) -> bool | None:
    """y/n/on/off/true/false (and yes/no/1/0) as a toggle state; None when it is none of them."""
    return TOGGLE_WORDS.get(answer.strip().lower())


def text_problem(element: dict[str, Any], value: str) -> str | None:
    """Why a client would not submit this text (required, too long, not matching), or None."""
    message = element.get("errorMessage")
    if element.get("isRequired") and not value.strip():
        return str(message or "This field is required.")
    if value and element.get("maxLength") and len(value) > int(element["maxLength"]):
        return str(message or f"At most {element['maxLength']} characters.")
    pattern = element.get("regex")
    if value and pattern and not re.fullmatch(str(pattern), value):
        return str(message or "This value is not accepted.")
    return None


def describe_input(element: dict[str, Any], value: Any = None) -> str:
    """One line showing an input and its current value."""
    kind = element.get("type")
    current = element.get("value", "") if value is None else value
    if kind == "Input.Toggle":
        state = "on" if toggle_is_on(element, current) else "off"
        title = element.get("title", "")
        label = element.get("label")
        return f"{label}: [{state}] {title}" if label else f"[{state}] {title}"
    if kind == "Input.ChoiceSet":
        choices = ", ".join(str(c.get("title")) for c in element.get("choices", []))
        return f"{input_label(element)}: [{current}] (choices: {choices})"
    shown = current if current != "" else f"({element.get('placeholder', 'empty')})"
    return f"{input_label(element)}: [{shown}]"


def fill_inputs(card: dict[str, Any]) -> dict[str, str]:
    """Ask for each input (Enter keeps the current value), checked as a Webex client would."""
    return {str(element["id"]): ask_input(element) for element in inputs_of(card)}


def ask_input(element: dict[str, Any]) -> str:
    """Read one input's value: toggles take y/n/on/off/true/false, text is validated."""
    while True:
        answer = input(f"  {describe_input(element)} > ").strip()
        if element.get("type") == "Input.Toggle":
            state = toggle_is_on(element) if not answer else parse_toggle(answer)
            if state is not None:
                fallback = "true" if state else "false"
                return str(element.get("valueOn" if state else "valueOff", fallback))
            print("  answer y/n, on/off or true/false")
            continue
        value = answer or str(element.get("value", ""))
        problem = text_problem(element, value)
        if problem is None:
            return value
        print(f"  {problem}")


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # markdown's backslash escapes


def _text_lines(text: str, indent: str = "") -> list[str]:
    """Card text as a terminal shows it: escapes resolved, wrapped to the frame."""
    lines: list[str] = []
    for paragraph in _ESCAPED.sub(r"\1", str(text)).splitlines() or [""]:
        lines.extend(
            textwrap.wrap(
                paragraph, WIDTH - 4 - len(indent), initial_indent=indent, subsequent_indent=indent
            )
            or [indent]
        )
    return lines


def _column_text(column: dict[str, Any]) -> str:
    parts: list[str] = []
    for item in visible(column.get("items")):
        if item.get("type") == "TextBlock":
            parts.append(str(item.get("text", "")))
        elif item.get("type") in CONTAINERS:
            parts.append(_column_text(item))
        elif str(item.get("type", "")).startswith("Input."):
            parts.append(describe_input(item))
    return " ".join(p for p in parts if p)


def _body_lines(elements: Any, indent: str = "") -> list[str]:
    lines: list[str] = []
    for element in visible(elements):
        kind = element.get("type")
        if kind == "TextBlock":
            lines.extend(_text_lines(str(element.get("text", "")), indent))
        elif kind == "RichTextBlock":
            text = "".join(
                str(i.get("text", "")) for i in element.get("inlines", []) if isinstance(i, dict)
            )
            lines.extend(_text_lines(text, indent))
        elif kind == "FactSet":
            for fact in element.get("facts", []):
                lines.extend(_text_lines(f"{fact.get('title')}: {fact.get('value')}", indent))
        elif kind == "ColumnSet":
            cells = [_column_text(c) for c in visible(element.get("columns"))]
            lines.extend(_text_lines(" | ".join(cells), indent))
        elif kind == "Container":
            lines.extend(_body_lines(element.get("items"), indent))
        elif kind == "Image":
            lines.append(f"{indent}[image: {element.get('altText') or element.get('url')}]")
        elif str(kind).startswith("Input."):
            lines.extend(_text_lines(describe_input(element), indent))
    return lines


def render_card(card: dict[str, Any], number: int) -> list[str]:
    """The card as a framed block: text, facts as `name: value`, inputs, numbered buttons."""
    head = f"┌─ card {number} "
    lines = [head + "─" * max(0, WIDTH - len(head))]
    lines.extend(f"│ {line}" for line in _body_lines(card.get("body")))
    buttons = buttons_of(card)
    if buttons:
        lines.append("│ " + "  ".join(f"[{b.number}] {b.title}" for b in buttons))
    lines.append("└" + "─" * (WIDTH - 1))
    return lines


def render_message(message: dict[str, Any], author: str, card_number: int | None) -> list[str]:
    """A message as a client shows it: the card when there is one, else its text."""
    thread = " ↳" if message.get("parentId") else ""
    card = card_of(message)
    if card is not None and card_number is not None:
        return [f"{author}{thread}:", *render_card(card, card_number)]
    text = message.get("markdown") or message.get("text") or ""
    body = str(text).splitlines() or [""]
    return [f"{author}{thread}: {body[0]}", *(f"  {line}" for line in body[1:])]


def card_of(message: dict[str, Any]) -> dict[str, Any] | None:
    for attachment in message.get("attachments") or []:
        if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
            content = attachment.get("content")
            return content if isinstance(content, dict) else None
    return None


def setting_line(org_name: str, setting: dict[str, Any]) -> str:
    """The organization's setting as the emulator holds it, on one line."""
    email = setting.get("emailAddress") or "(no address)"
    everywhere = "on" if setting.get("allowEmailNotificationAllLocationEnabled") else "off"
    if setting.get("emergencyCallNotificationEnabled"):
        return (
            f"{org_name} emergency call notifications: ON → {email} (all locations: {everywhere})"
        )
    return (
        f"{org_name} emergency call notifications: OFF (email: {email}, "
        f"all locations: {everywhere})"
    )


class Console:
    """Prints what arrives while the person types: redraws the prompt, holds output during forms."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self._lock = threading.RLock()
        self._prompt = ""
        self._at_prompt = False
        self._held: list[str] | None = None

    def ask(self, prompt: str) -> str:
        """Read one line at the chat prompt; output arriving meanwhile appears above it."""
        with self._lock:
            self._prompt, self._at_prompt = prompt, True
        try:
            return input(prompt)
        finally:
            with self._lock:
                self._at_prompt = False

    def show(self, *lines: str) -> None:
        with self._lock:
            if self._held is not None:
                self._held.extend(lines)
                return
            text = "\n".join(lines) + "\n"
            if self._at_prompt:
                typed = readline.get_line_buffer() if readline else ""
                text = "\r\x1b[2K" + text + self._prompt + typed
            self._out.write(text)
            self._out.flush()

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Keep arriving output back while a form is being filled, then show it."""
        with self._lock:
            self._held = []
        try:
            yield
        finally:
            with self._lock:
                held, self._held = self._held or [], None
            if held:
                self.show(*held)
