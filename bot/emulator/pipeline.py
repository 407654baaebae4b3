"""The /v1 request pipeline: latency, faults, auth, body validation, operation, recording."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.emulator import validation
from bot.emulator.calls import Call, Reply
from bot.emulator.errors import REASONS, ApiError, error_body, new_tracking_id
from bot.emulator.faults import Fault, Faults, path_matches
from bot.emulator.routes import PUBLIC, ROUTES
from bot.emulator.state import Identity, State

log = logging.getLogger(__name__)
PREFIX = "/v1"
_TEMPLATES = {t: re.compile(re.sub(r"\{[^}]+\}", "[^/]+", t)) for _, t in ROUTES}


@dataclass(frozen=True)
class RecordedRequest:
    """A request the emulator answered on /v1 (path without /v1)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any | None
    person_id: str | None
    status: int
    at: float  # when it was answered (wall clock)
    arrived: float = 0.0  # when it was read


class Pipeline:
    """Turns HTTP requests into operations on the state, the way Webex's front door would."""

    def __init__(self, state: State, faults: Faults) -> None:
        self.state = state
        self.faults = faults
        self.latency = 0.0
        self.check_responses = False
        self.requests: list[RecordedRequest] = []
        self.closing = asyncio.Event()
        self._lateness: deque[float] = deque([0.0], maxlen=64)  # of the latest timers (s)

    async def sleep(self, seconds: float) -> None:
        """Sleep, but wake early when the emulator shuts down."""
        if seconds > 0:
            # A timer, not wait_for: on Python 3.11 that wraps the wait in a task of its own,
            # and this runs for every request (the emulator shares the bot's cores).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self.closing.wait()

    async def sleep_until(self, deadline: float) -> None:
        """Until time.monotonic() reaches `deadline` (or the emulator shuts down), and not much
        past it: a timer fires late here (0.3-0.7 ms on a 2-core VM, uvloop and asyncio alike),
        which added that much to every call of a benchmark "answered L after arrival". So it
        asks for less by the least lateness of the latest timers, and waits out what is left:
        never early."""
        lead = min(self._lateness)
        wait = deadline - time.monotonic() - lead
        if wait > 0:
            asked = time.monotonic() + wait
            await self.sleep(wait)
            self._lateness.append(min(max(time.monotonic() - asked, 0.0), 0.002))
        # The rest of a millisecond, when the timer was on time: a yield per turn of the loop
        # (a timer again would be late again).
        while time.monotonic() < deadline and not self.closing.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0)

    def invoke(
        self,
        identity: Identity | None,
        method: str,
        template: str,
        params: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        body: Any = None,
        form: dict[str, str] | None = None,
        url: str = "",
    ) -> Reply:
        """Validate the body and run the operation (helpers in-process use this path too)."""
        if validation.has_request_body(method, template):
            problem = validation.request_problem(method, template, body)
            if problem is not None:
                raise ApiError(400, f"Invalid request body: {problem}")
        call = Call(self.state, identity, params or {}, query or {}, body, form or {}, url)
        return ROUTES[(method, template)](call)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one /v1 request and record it."""
        arrived, arrived_wall = time.monotonic(), time.time()
        tracking = new_tracking_id()
        method, path = request.method, request.path[len(PREFIX) :] or "/"
        query = dict(request.query)
        raw = await request.read()
        body, form, bad_json = _parse_body(request, raw)
        identity = self._identity_quietly(request)
        # The set latency counts from the request's arrival: reading it is part of it.
        delay = self.latency + self.faults.delay_for(path)
        await self.sleep_until(arrived + delay)
        fault = self.faults.take(method, path)
        if fault is not None:
            await self.sleep(fault.hang or 0)
            reply = _fault_reply(fault)
        else:
            reply = self._run(request, method, body, form, bad_json, query)
        self.requests.append(
            RecordedRequest(
                method,
                path,
                query,
                body,
                identity.id if identity else None,
                reply.status,
                time.time(),
                arrived_wall,
            )
        )
        return _to_http(reply, tracking)

    def _run(
        self,
        request: web.Request,
        method: str,
        body: Any,
        form: dict[str, str],
        bad_json: bool,
        query: dict[str, str],
    ) -> Reply:
        route = request.match_info.route.resource
        template = route.canonical[len(PREFIX) :] if route is not None else ""
        if (method, template) not in ROUTES:
            known = any(_TEMPLATES[t].fullmatch(request.path[len(PREFIX) :]) for _, t in ROUTES)
            return Reply(405 if known else 404, {"message": REASONS[405 if known else 404]})
        try:
            identity = None if (method, template) in PUBLIC else self._authenticate(request)
            if bad_json:
                raise ApiError(400, "The request body is not valid JSON.")
            reply = self.invoke(
                identity, method, template, dict(request.match_info), query, body, form,
                str(request.url),
            )
        except ApiError as error:
            return Reply(error.status, {"message": error.message, **error.extra})
        if self.check_responses and reply.body is not None:
            problem = validation.response_problem(method, template, reply.status, reply.body)
            if problem is not None:
                log.error("response to %s %s breaks the schema: %s", method, template, problem)
                return Reply(500, {"message": f"Emulator response breaks the schema: {problem}"})
        return reply

    def _authenticate(self, request: web.Request) -> Identity:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401)
        return self.state.authenticate(token.strip())

    def _identity_quietly(self, request: web.Request) -> Identity | None:
        try:
            return self._authenticate(request)
        except ApiError:
            return None

    def calls(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, filtered by method and path (exact or glob)."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (
                path is None
                or r.path == path
                or (any(c in path for c in "*?[") and path_matches(path, r.path))
            )
        ]


def _parse_body(request: web.Request, raw: bytes) -> tuple[Any, dict[str, str], bool]:
    """Return (json body or None, form fields, whether the bytes were unreadable JSON)."""
    if not raw:
        return None, {}, False
    if request.content_type == "application/x-www-form-urlencoded":
        return None, dict(parse_qsl(raw.decode(errors="replace"))), False
    try:
        return json.loads(raw), {}, False
    except (ValueError, UnicodeDecodeError):
        return None, {}, True


def _fault_reply(fault: Fault) -> Reply:
    status = fault.status or 504
    headers: tuple[tuple[str, str], ...] = ()
    if fault.retry_after is not None:
        headers = (
            (
                "Retry-After",
                str(int(fault.retry_after))
                if float(fault.retry_after).is_integer()
                else str(fault.retry_after),
            ),
        )
    return Reply(status, {"message": fault.message or REASONS.get(status, "Error")}, headers)


def _to_http(reply: Reply, tracking: str) -> web.StreamResponse:
    headers = {"TrackingID": tracking, **dict(reply.headers)}
    if reply.body is None:
        return web.Response(status=reply.status, headers=headers)
    body = reply.body
    if reply.status >= 400:
        extra = {k: v for k, v in body.items() if k != "message"}
        body = error_body(reply.status, body["message"], tracking, **extra)
    return web.json_response(body, status=reply.status, headers=headers)
