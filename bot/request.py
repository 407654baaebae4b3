"""What the effects (replies, card tokens, changes) are told about the request they serve."""

from __future__ import annotations

from typing import Protocol

from bot.outbox import Outbox


class Request(Protocol):
    """One event from one person in one space (the per-event Context is one)."""

    @property
    def event_key(self) -> str: ...
    @property
    def org_id(self) -> str: ...
    @property
    def room_id(self) -> str: ...
    @property
    def thread_id(self) -> str | None: ...  # where replies go in group spaces
    @property
    def message_id(self) -> str | None: ...  # the command message, or the card pressed
    @property
    def person_id(self) -> str: ...
    @property
    def person_email(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def outbox(self) -> Outbox: ...
