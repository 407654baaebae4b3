"""A webhook's JSON object together with the text Webex sent for it, so that the receiver
writes the text as it came (to the journal, to the worker) instead of encoding it again."""

from __future__ import annotations

import contextlib
import json
from typing import Any


class Body(dict[str, Any]):
    """The decoded object (a dict like any other) and `text`: the same object as one line of
    JSON, or None when the bytes were not plain UTF-8 text starting with `{`."""

    __slots__ = ("text",)

    def __init__(self, decoded: dict[str, Any], raw: bytes) -> None:
        super().__init__(decoded)
        self.text: str | None = None
        if raw[:1] == b"{":  # no byte-order mark, no leading whitespace: as Webex sends it
            # A newline in valid JSON can only be whitespace between tokens (a string
            # cannot hold one raw), so a space in its place leaves the same object.
            with contextlib.suppress(UnicodeDecodeError):
                self.text = raw.decode("utf-8").replace("\n", " ")


def as_json(body: dict[str, Any]) -> str:
    """`body` as one line of JSON: its own text when it has one."""
    text = body.text if isinstance(body, Body) else None
    return text if text is not None else json.dumps(body, separators=(",", ":"))
