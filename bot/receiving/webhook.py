"""POST /webhooks/webex: verify → envelope → drop own and unhandled → record once → 200."""

from __future__ import annotations

import json
import logging

from aiohttp import web
from pydantic import ValidationError

from bot.models import HANDLED_EVENTS, Envelope
from bot.receiving.intake import INTAKE
from bot.security import SIGNATURE_HEADER, verify_signature

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
FROM_PEOPLE = frozenset({"messages/created", "attachmentActions/created"})


async def receive(request: web.Request) -> web.Response:
    """Acknowledge fast: the work runs later from the inbox; no input yields a 5xx."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return web.Response(status=413)
    try:
        # The whole body, however many pieces it arrives in (the app caps it at MAX_BODY).
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return web.Response(status=413)
    intake = request.app[INTAKE]
    if not verify_signature(intake.secret, body, request.headers.get(SIGNATURE_HEADER)):
        intake.signature_failed()
        log.warning("webhook refused: missing or wrong signature")
        return web.Response(status=401)
    try:
        payload = json.loads(body)
        envelope = Envelope.model_validate(payload)
    except (ValueError, RecursionError, ValidationError):
        log.warning("webhook refused: signed but not a valid envelope")
        return web.Response(status=400, text="not a Webex webhook envelope")
    if envelope.data_id is None:
        return web.Response(status=400, text="data.id is missing or not a Webex id")
    kind = envelope.kind
    if kind not in HANDLED_EVENTS:
        intake.count("other", "ignored")  # bounded labels: Webex adds resources
        return _ok("ignored")
    person_id = envelope.data.get("personId")
    if kind in FROM_PEOPLE and person_id == intake.bot_id:
        intake.count(kind, "own")
        log.debug("event %s is the bot's own: dropped", envelope.key)
        return _ok("own event")
    if kind == "memberships/created" and person_id != intake.bot_id:
        intake.count(kind, "ignored")
        return _ok("ignored")
    now = intake.clock()
    try:
        recorded = await intake.record(envelope.key, envelope.resource, envelope.event,
                                       payload, now)
    except Exception:
        # Not the sender's fault: 503 makes Webex deliver it again later.
        log.exception("event %s could not be recorded", envelope.key)
        return web.Response(status=503)
    if not recorded:
        intake.count(kind, "duplicate")
        log.info("event %s delivered again: already recorded", envelope.key)
        return _ok("duplicate")
    intake.count(kind, "accepted")
    intake.accept(envelope.key, envelope.resource, envelope.event, payload, now)
    return _ok("accepted")


def _ok(status: str) -> web.Response:
    return web.json_response({"status": status})
