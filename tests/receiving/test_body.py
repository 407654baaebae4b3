"""A webhook's body is handed on (to the journal, over the link to the worker) as the text
Webex sent: the worker must read back the very object the receiver verified, on one line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.receiving.body import Body, as_json

ENVELOPE: dict[str, Any] = {
    "resource": "messages", "event": "created",
    "data": {"id": "M1", "roomId": "R1", "personId": "P1", "personEmail": "zoë@acme.example",
             "text": "line one\nline two"},  # an escaped newline inside a string
}


@pytest.mark.parametrize(
    ("raw", "own_text"),
    [
        (json.dumps(ENVELOPE, separators=(",", ":")).encode(), True),  # as Webex sends it
        (json.dumps(ENVELOPE, indent=2).encode(), True),  # pretty-printed: raw newlines
        (json.dumps(ENVELOPE, ensure_ascii=False).encode(), True),  # UTF-8 beyond ASCII
        (json.dumps(ENVELOPE).encode("utf-8-sig"), False),  # a byte-order mark
        (json.dumps(ENVELOPE).encode("utf-16"), False),  # JSON, but not UTF-8
        (b"\r\n " + json.dumps(ENVELOPE).encode(), False),  # whitespace before the object
    ],
)
def test_the_body_handed_on_is_one_line_that_reads_back_as_what_was_verified(
    raw: bytes, own_text: bool
) -> None:
    decoded = json.loads(raw)
    body = Body(decoded, raw)

    line = as_json(body)

    assert "\n" not in line
    assert json.loads(line) == decoded == ENVELOPE
    assert body == decoded  # the handler and the store see a plain dict
    assert (body.text is not None) is own_text


def test_a_plain_dict_is_encoded() -> None:
    assert json.loads(as_json({"a": [1, "ü"]})) == {"a": [1, "ü"]}
