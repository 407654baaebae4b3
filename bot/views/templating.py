"""A small subset of Adaptive Cards templating, the card templates, and the 1.3 schema check.

Supported: `${path}` (a whole string becomes the value itself, inside a longer string the value's
text), dotted paths with `$root` and `$data`, `$when` with `path` or `!path`, and `$data` repetition
over a list inside an array. Values are inserted as values and never re-read as template text, so
user-supplied strings cannot inject JSON or further expressions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

_EXPRESSION = re.compile(r"\$\{([^}]*)\}")
_PATH = re.compile(r"!?(\$root|\$data|[A-Za-z_]\w*)(\.[A-Za-z_]\w*)*")
_DROP = object()

# Elements and actions Webex renders; the 1.3 schema alone would also allow Media, ImageSet, ...
WEBEX_TYPES = frozenset(
    {
        "AdaptiveCard", "TextBlock", "FactSet", "ColumnSet", "Column", "Container", "Image",
        "ActionSet", "Input.Text", "Input.Toggle", "Input.ChoiceSet",
        "Action.Submit", "Action.OpenUrl", "Action.ShowCard",
    }
)  # fmt: skip


class _Scope:
    def __init__(self, root: Mapping[str, Any], current: Any) -> None:
        self.root = root
        self.current = current

    def lookup(self, path: str) -> Any:
        head, *rest = path.split(".")
        if head == "$root":
            value: Any = self.root
        elif head == "$data":
            value = self.current
        else:
            value, rest = self.current, [head, *rest]
        for part in rest:
            if not isinstance(value, Mapping) or part not in value:
                raise KeyError(path)
            value = value[part]
        return value

    def evaluate(self, expression: str) -> Any:
        expression = expression.strip()
        if not _PATH.fullmatch(expression):
            raise ValueError(f"unsupported template expression: ${{{expression}}}")
        if expression.startswith("!"):
            return not self.lookup(expression[1:])
        return self.lookup(expression)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _expand_string(text: str, scope: _Scope) -> Any:
    if "${" not in text:
        return text  # most of a card is literal text: no regular expression for it
    whole = _EXPRESSION.fullmatch(text)
    if whole:
        return scope.evaluate(whole.group(1))
    expanded = _EXPRESSION.sub(lambda m: _text(scope.evaluate(m.group(1))), text)
    if "${" in _EXPRESSION.sub("", text):
        raise ValueError(f"unclosed template expression in {text!r}")
    return expanded


def _binding(value: Any, scope: _Scope) -> Any:
    """The value of a `$data` or `$when` property: one whole expression, or a literal."""
    if isinstance(value, str):
        whole = _EXPRESSION.fullmatch(value)
        if whole is None:
            raise ValueError(f"$data and $when take one whole expression, not {value!r}")
        return scope.evaluate(whole.group(1))
    return value


def _expand_object(obj: Mapping[str, Any], scope: _Scope) -> Any:
    if "$when" in obj and not _binding(obj["$when"], scope):
        return _DROP
    return {
        key: out
        for key, value in obj.items()
        if key not in ("$when", "$data")
        for out in [_expand(value, scope)]
        if out is not _DROP
    }


def _expand(node: Any, scope: _Scope) -> Any:
    if isinstance(node, str):
        return _expand_string(node, scope)
    if isinstance(node, list):
        out: list[Any] = []
        for item in node:
            if isinstance(item, Mapping) and "$data" in item:
                bound = _binding(item["$data"], scope)
                contexts = bound if isinstance(bound, list | tuple) else [bound]
                out.extend(_expand_object(item, _Scope(scope.root, c)) for c in contexts)
            else:
                out.append(_expand(item, scope))
        return [item for item in out if item is not _DROP]
    if isinstance(node, Mapping):
        if "$data" in node:
            bound = _binding(node["$data"], scope)
            if isinstance(bound, list | tuple):
                raise ValueError("$data bound to a list outside an array")
            scope = _Scope(scope.root, bound)
        return _expand_object(node, scope)
    return node


def expand(template: Any, data: Mapping[str, Any]) -> Any:
    """Fill a parsed template from data; a missing path raises KeyError naming it."""
    result = _expand(template, _Scope(data, data))
    return None if result is _DROP else result


def _cards_dir() -> Path:
    packaged = resources.files("bot") / "_cards"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "cards"


@cache
def load_template(name: str) -> Any:
    """The parsed template cards/<name>.json, read once."""
    return json.loads((_cards_dir() / f"{name}.json").read_text(encoding="utf-8"))


def template_names() -> list[str]:
    """Names of every card template shipped."""
    return sorted(p.stem for p in _cards_dir().glob("*.json"))


@cache
def _validator() -> jsonschema.Draft6Validator:
    schema = resources.files("bot.views") / "adaptive-card-1.3.schema.json"
    text = schema.read_text(encoding="utf-8")
    return jsonschema.Draft6Validator(json.loads(text))


def _types(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*map(_types, node)) if node else set()
    if isinstance(node, Mapping):
        own = {node["type"]} if isinstance(node.get("type"), str) else set()
        return own.union(*(_types(v) for k, v in node.items() if k != "data"))
    return set()


def validate_card(card: Mapping[str, Any]) -> None:
    """Raise ValueError unless the card is valid Adaptive Card 1.3 using only what Webex renders."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(card))
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "(card)"
        raise ValueError(f"card invalid at {where}: {error.message}")
    if card.get("version") != "1.3":
        raise ValueError(f"card version must be 1.3, not {card.get('version')!r}")
    unsupported = _types(card) - WEBEX_TYPES - {"Fact"}
    if unsupported:
        raise ValueError(f"card uses elements Webex does not render: {sorted(unsupported)}")
