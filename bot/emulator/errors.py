"""Webex-shaped errors: the exception handlers raise and the JSON body clients see."""

from __future__ import annotations

import uuid
from typing import Any

REASONS: dict[int, str] = {
    400: "The request was invalid or cannot be otherwise served.",
    401: "The request requires a valid access token set in the Authorization request header.",
    403: "The request is understood, but it has been refused or access is not allowed.",
    404: "The requested resource could not be found.",
    405: "The request was made to a resource using an HTTP request method that is not supported.",
    409: "The request could not be processed because it conflicts with some established rule.",
    415: "The request was made to a resource without specifying a supported media type.",
    423: "The requested resource is temporarily unavailable.",
    429: "Too many requests have been sent in a given amount of time.",
    500: "Something went wrong on the server.",
    502: "The server received an invalid response from an upstream server.",
    503: "Server is overloaded with requests. Try again later.",
    504: "The server did not receive a timely response from an upstream server.",
}


def new_tracking_id() -> str:
    """Return a fresh tracking id (EMU_<uuid>)."""
    return f"EMU_{uuid.uuid4()}"


class ApiError(Exception):
    """A Webex API error: status code, message and optional extra body fields."""

    def __init__(self, status: int, message: str | None = None, **extra: Any) -> None:
        self.status = status
        self.message = message or REASONS.get(status, "Error")
        self.extra = extra
        super().__init__(f"{status} {self.message}")


def error_body(status: int, message: str, tracking_id: str, **extra: Any) -> dict[str, Any]:
    """Return Webex's error body: message, errors[].description, trackingId."""
    body: dict[str, Any] = {
        "message": message,
        "errors": [{"description": message}],
        "trackingId": tracking_id,
    }
    body.update(extra)
    return body
