"""What an error answer from Webex means, as the project's errors: one mapping for every client."""

from __future__ import annotations

import logging
from typing import Any

from bot.errors import AdminTokenError, TransientWebexError, WebexError

log = logging.getLogger(__name__)
NO_REASON = "Webex did not say why"
BOT_REJECTED = "Webex rejected a token of the bot."
ADMIN_REJECTED = "Webex rejected the bot's admin token."
# Worth another try: locked or rate limited (Retry-After when given), or a passing outage.
TRANSIENT_STATUSES = frozenset({423, 429, 502, 503, 504})


def webex_error_message(body: Any) -> str:
    """The most specific human message in a Webex error body."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            for item in error.get("message") or []:
                if isinstance(item, dict) and item.get("description"):
                    return str(item["description"])
        for item in body.get("errors") or []:
            if isinstance(item, dict) and item.get("description"):
                return str(item["description"])
        if body.get("message"):
            return str(body["message"])
    return NO_REASON


def error_for(
    endpoint: str, status: int, message: str, tracking_id: str | None, *,
    retry_after: float | None = None, rejected: str = BOT_REJECTED,
) -> WebexError:
    """The error for Webex's answer `status` (not 2xx): transient, a rejected token, or final."""
    log.info("webex %s answered %d (tracking id %s)", endpoint, status, tracking_id)
    if status in TRANSIENT_STATUSES:
        return TransientWebexError(message, status=status, tracking_id=tracking_id,
                                   endpoint=endpoint, retry_after=retry_after)
    if status == 401:
        return AdminTokenError(rejected, status=status, tracking_id=tracking_id,
                               endpoint=endpoint)
    return WebexError(message, status=status, tracking_id=tracking_id, endpoint=endpoint)
