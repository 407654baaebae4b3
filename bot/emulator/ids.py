"""Webex-shaped identifiers and timestamps."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import UTC, datetime

NAMESPACE = uuid.UUID("6f1d0c3e-2b7a-4d8e-9c55-0e3a5b7d9f21")
KINDS = (
    "PEOPLE",
    "ROOM",
    "MESSAGE",
    "ORGANIZATION",
    "ROLE",
    "WEBHOOK",
    "ATTACHMENT_ACTION",
    "MEMBERSHIP",
    "APPLICATION",
    "LOCATION",
)


def encode_id(kind: str, local: str) -> str:
    """Return Webex's id form: base64url, no padding, of ciscospark://us/KIND/local."""
    raw = f"ciscospark://us/{kind}/{local}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_id(webex_id: str) -> tuple[str, str] | None:
    """Return (KIND, local part) of a Webex id, or None when it is not one."""
    try:
        raw = base64.urlsafe_b64decode(webex_id + "=" * (-len(webex_id) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix = "ciscospark://us/"
    if not raw.startswith(prefix) or raw.count("/") < 4:
        return None
    kind, _, local = raw[len(prefix) :].partition("/")
    return kind, local


def stable_id(kind: str, name: str) -> str:
    """Return a deterministic id of a kind for a name (uuid5)."""
    return encode_id(kind, str(uuid.uuid5(NAMESPACE, f"{kind}:{name}")))


class IdFactory:
    """Hands out ids for objects created at run time: unique to this emulator start (a restarted
    emulator must not hand out a message id an earlier run used; the bot de-duplicates by id),
    deterministic within it for a given salt."""

    def __init__(self, salt: str | None = None) -> None:
        self._salt = salt if salt is not None else secrets.token_hex(8)
        self._counter = 0

    def new(self, kind: str) -> str:
        """Return the next id of a kind."""
        self._counter += 1
        return stable_id(kind, f"{self._salt}:{self._counter}")


def iso(ts: datetime | None = None) -> str:
    """Return an ISO-8601 UTC timestamp with milliseconds and a Z, as Webex writes them."""
    moment = (ts or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
