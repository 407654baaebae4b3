"""Webhook registration: each token sees and changes only its own webhooks."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from bot.emulator.calls import Call, Reply
from bot.emulator.errors import ApiError


def _own(call: Call) -> dict[str, Any]:
    """Return the caller's webhook named in the path, or raise 404."""
    hook = call.state.webhooks.get(call.params["webhookId"])
    if hook is None or hook["createdBy"] != call.who.id:
        raise ApiError(404, "Could not find a webhook with the provided ID.")
    return hook


def _check_url(url: str) -> None:
    """Raise 400 unless the target is an absolute http(s) URL."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ApiError(400, "targetUrl must be an absolute http or https URL.")


def webhooks_list(call: Call) -> Reply:
    """GET /webhooks."""
    items = [dict(h) for h in call.state.webhooks.values() if h["createdBy"] == call.who.id]
    return Reply(200, {"items": items[: int(call.query.get("max", "100") or 100)]})


def webhooks_create(call: Call) -> Reply:
    """POST /webhooks."""
    body = call.body
    _check_url(body["targetUrl"])
    hook = call.state.add_webhook(
        call.who.id,
        body["name"],
        body["targetUrl"],
        body["resource"],
        body["event"],
        body.get("filter"),
        body.get("secret"),
    )
    return Reply(200, dict(hook))


def webhooks_get(call: Call) -> Reply:
    """GET /webhooks/{webhookId}."""
    return Reply(200, dict(_own(call)))


def webhooks_update(call: Call) -> Reply:
    """PUT /webhooks/{webhookId}: name, targetUrl, secret; status active reactivates."""
    hook = _own(call)
    _check_url(call.body["targetUrl"])
    hook["name"], hook["targetUrl"] = call.body["name"], call.body["targetUrl"]
    if "secret" in call.body:
        hook["secret"] = call.body["secret"]
    if call.body.get("status") == "active":
        hook["status"] = "active"
        call.state.webhook_failures.pop(hook["id"], None)
    return Reply(200, dict(hook))


def webhooks_delete(call: Call) -> Reply:
    """DELETE /webhooks/{webhookId}."""
    del call.state.webhooks[_own(call)["id"]]
    return Reply(204)
