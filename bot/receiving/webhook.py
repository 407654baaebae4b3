"""POST /webhooks/webex: verify → envelope → drop own (keeping an own group message's ids) and
unhandled → record once → 200."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from datetime import UTC

from aiohttp import web
from pydantic import ValidationError

from bot.models import HANDLED_EVENTS, WEBHOOK_PATH, Envelope, MessageEventData
from bot.receiving.body import Body
from bot.receiving.guard import deadlines
from bot.receiving.intake import INTAKE, Intake
from bot.security import SIGNATURE_HEADER, verify_signature

log = logging.getLogger(__name__)
# A real envelope is a few hundred bytes (ids, dates, names); 64 KiB is plenty, and a larger
# body is refused before its signature is computed.
MAX_BODY = 64 * 1024
OWN_RECORD_SECONDS = 1.0  # the ids of an own message: worth less than a prompt answer
FROM_PEOPLE = frozenset({"messages/created", "attachmentActions/created"})


def public_app() -> web.Application:
    """The public port's app: POST /webhooks/webex under the guard's deadlines and the body
    limit (the caller adds /healthz and the intake)."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[deadlines])
    app.router.add_post(WEBHOOK_PATH, receive)
    return app


async def receive(request: web.Request) -> web.Response:
    """Acknowledge fast: the work runs later from the inbox; no input yields a 5xx."""
    # The whole body, however many pieces it arrived in: read by the deadlines middleware,
    # within its time and the app's MAX_BODY.
    body = await request.read()
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
        if kind == "messages/created":
            await _remember_own(intake, envelope)
        log.debug("event %s is the bot's own: dropped", envelope.key)
        return _ok("own event")
    if kind == "memberships/created" and person_id != intake.bot_id:
        intake.count(kind, "ignored")
        return _ok("ignored")
    now = intake.clock()
    created = envelope.created
    if created is not None and now - created > intake.max_age:
        intake.count(kind, "stale")
        log.warning("event %s was created at %s, longer ago than %s: a replay, not run",
                    envelope.key, created.isoformat(), intake.max_age)
        return _ok("stale")
    received = (envelope.key, envelope.resource, envelope.event, Body(payload, body), now)
    try:
        recorded = await intake.record(*received)  # a database's within its deadline
    except Exception as error:
        # Not the sender's fault, and a 5xx would lose it: Webex does not promise to deliver
        # a refused event again. Kept (on disk if it can be), it is recorded later.
        intake.spool.recording.failed(error, "events are spooled")
        on_disk = intake.spool.keep(*received)
        intake.count(kind, "spooled" if on_disk else "kept_in_memory")
        intake.accept(*received, spooled=True)
        return _ok("accepted")
    intake.spool.recording.worked()
    if not recorded:
        intake.count(kind, "duplicate")
        log.info("event %s delivered again: already recorded", envelope.key)
        return _ok("duplicate")
    if not intake.hands_on:
        intake.count(kind, "accepted")
        intake.accept(*received, spooled=False)
    return _ok("accepted")


async def _remember_own(intake: Intake, envelope: Envelope) -> None:
    """Keep the ids of one of the bot's own group messages (never its text): a resumed event
    looks there for a reply it may have posted before a crash. Best effort: a failure here
    costs at most a reply posted twice, never the acknowledgement."""
    if intake.remember_own is None or envelope.data.get("roomType") == "direct":
        return  # in a 1:1 space the bot lists the space's messages instead
    if intake.spool.recording.failing:
        return  # the database is down: the acknowledgement must not wait for it
    try:
        data = MessageEventData.model_validate(envelope.data)
    except ValidationError:
        return
    created = (data.created or intake.clock()).astimezone(UTC)
    try:
        async with asyncio.timeout(OWN_RECORD_SECONDS):
            await intake.remember_own(data.id, data.roomId, data.parentId, created)
    except Exception as error:
        # One warning while it fails, not one per reply.
        intake.own_trouble.failed(error, "a reply cut off by a crash may be posted twice")
        return
    intake.own_trouble.worked()


@functools.cache
def _answer(status: str) -> bytes:
    return json.dumps({"status": status}).encode()  # built once a status


def _ok(status: str) -> web.Response:
    return web.Response(body=_answer(status), content_type="application/json")
