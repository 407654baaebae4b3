"""The project's own exceptions: each carries a message that is safe to show a person."""

from __future__ import annotations

from typing import Any


class BotError(Exception):
    """A failure the user is told about; `user_message` never holds a token or a raw body."""

    def __init__(self, user_message: str, *, tracking_id: str | None = None) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.tracking_id = tracking_id

    def described(self) -> str:
        """In one line for an operator: the message, Webex's status and tracking id."""
        status = getattr(self, "status", None)
        where = f"status {status}, " if status else ""
        return f"{self.user_message} ({where}tracking id {self.tracking_id or '–'})"


class WebexError(BotError):
    """Webex answered with an error (after any retries)."""

    def __init__(
        self,
        user_message: str,
        *,
        status: int | None = None,
        tracking_id: str | None = None,
        endpoint: str = "",
    ) -> None:
        super().__init__(user_message, tracking_id=tracking_id)
        self.status = status
        self.endpoint = endpoint


class TransientWebexError(WebexError):
    """Worth another try: 429/423 (with `retry_after`), 502/503/504, timeouts, connection errors."""

    def __init__(self, user_message: str, *, retry_after: float | None = None,
                 **details: Any) -> None:
        super().__init__(user_message, **details)
        self.retry_after = retry_after


class AdminTokenError(WebexError):
    """The admin identity cannot be used: the token was rejected or could not be refreshed."""


class NotSignedIn(BotError):
    """With CHANGES_WITH=admin, the person has no usable sign-in (never, signed out, or Webex
    refused the refresh): nothing was changed; they are asked to sign in."""
