"""The browser console: a Webex-like page for the demo, its live event stream and its actions.

The page speaks as a seeded person the way a Webex client does: it posts messages and card
submissions to the emulator's /v1 API with that person's token, so the bot receives the same
signed webhooks it would from Webex. The Control Hub panel changes a setting as that person
does in Control Hub (the emulator's /_emulator/controlhub API, which writes the admin audit log).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.demo import world
from bot.demo.inputs import ControlHubChange, Press, Say
from bot.emulator import Emulator, SeedPerson

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
KEEPALIVE_SECONDS = 15.0
EMULATOR: web.AppKey[Emulator] = web.AppKey("emulator", Emulator)
HTTP: web.AppKey[aiohttp.ClientSession] = web.AppKey("http", aiohttp.ClientSession)
CLOSING: web.AppKey[asyncio.Event] = web.AppKey("closing", asyncio.Event)
Model = TypeVar("Model", bound=BaseModel)


def create_console(emu: Emulator) -> web.Application:
    """The console's aiohttp app, bound to a running emulator."""
    app = web.Application()
    app[EMULATOR] = emu
    app[CLOSING] = asyncio.Event()
    app.cleanup_ctx.append(_http)
    app.on_shutdown.append(_end_streams)
    app.add_routes(
        [
            web.get("/", _index),
            web.get("/events", _events),
            web.post("/api/say", _say),
            web.post("/api/press", _press),
            web.put("/api/controlhub", _control_hub),
            web.static("/static", STATIC),
        ]
    )
    return app


async def _http(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as http:
        app[HTTP] = http
        yield


async def _end_streams(app: web.Application) -> None:
    app[CLOSING].set()


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def _events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the whole scene first, then what changed after each write."""
    emu, closing = request.app[EMULATOR], request.app[CLOSING]
    stream = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await stream.prepare(request)
    shown: world.Snapshot | None = None
    with emu.changes.subscribe() as changed, contextlib.suppress(ConnectionResetError):
        while not closing.is_set():  # until the console stops or the page goes away
            changed.clear()  # before looking: a change made while we write wakes us again
            now = world.snapshot(emu)
            for name, data in world.changes(shown or world.Snapshot(), now):
                await stream.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            if shown is None:  # what follows is news, not history
                await stream.write(b"event: ready\ndata: {}\n\n")
            shown = now
            if not await _woken(changed, closing):
                await stream.write(b": still here\n\n")
    return stream


async def _woken(changed: asyncio.Event, closing: asyncio.Event) -> bool:
    """Wait for a change or the end; False after a quiet keep-alive interval."""
    waits = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(closing.wait())]
    done, pending = await asyncio.wait(
        waits, timeout=KEEPALIVE_SECONDS, return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()
    return bool(done)


async def _say(request: web.Request) -> web.Response:
    """POST /v1/messages as the person: the bot is mentioned in a group space, as Webex does."""
    emu = request.app[EMULATOR]
    say = await _body(request, Say)
    person = _person(emu, say.person)
    body: dict[str, Any] = {"text": say.text}
    if say.room_id:
        room = emu.state.rooms.get(say.room_id)
        if room is not None and room["type"] == "group":
            body["text"] = f"<@personId:{emu.seed.bot_id}|{emu.seed.bot_name}> {say.text}"
        body["roomId"] = say.room_id
    else:  # no 1:1 space with the bot yet: the first message makes one
        body["toPersonId"] = emu.seed.bot_id
    return await _webex(request, "POST", "/messages", body, person.token)


async def _press(request: web.Request) -> web.Response:
    """POST /v1/attachment/actions as the person, with the inputs the renderer merged."""
    emu = request.app[EMULATOR]
    press = await _body(request, Press)
    person = _person(emu, press.person)
    body = {"type": "submit", "messageId": press.message_id, "inputs": press.inputs}
    return await _webex(request, "POST", "/attachment/actions", body, person.token)


async def _control_hub(request: web.Request) -> web.Response:
    """Change a setting as the person does in Control Hub (the admin audit log records it)."""
    emu = request.app[EMULATOR]
    change = await _body(request, ControlHubChange)
    _person(emu, change.person)
    target = "setting" if change.location is None else "location"
    url = f"{emu.base_url.removesuffix('/v1')}/_emulator/controlhub/{target}"
    async with request.app[HTTP].post(url, json=change.body()) as reply:
        text = await reply.text()
        if reply.status != 200:
            return _refused(reply.status, text, "Control Hub")
    log.info("control hub: %s changed the %s from the console", change.person, target)
    return web.json_response(json.loads(text))


async def _webex(
    request: web.Request, method: str, path: str, body: dict[str, Any], token: str
) -> web.Response:
    emu = request.app[EMULATOR]
    headers = {"Authorization": f"Bearer {token}"}
    url = emu.base_url + path
    async with request.app[HTTP].request(method, url, json=body, headers=headers) as reply:
        text = await reply.text()
        if reply.status >= 400:
            return _refused(reply.status, text)
    return web.json_response(json.loads(text) if text else {})


def _refused(status: int, text: str, source: str = "Webex") -> web.Response:
    """Webex's (the emulator's) refusal, passed on with its status and message."""
    message = text
    with contextlib.suppress(ValueError, AttributeError):
        message = json.loads(text).get("message") or text
    return web.json_response({"message": f"{source} answered {status}: {message}"}, status=status)


async def _body(request: web.Request, model: type[Model]) -> Model:
    # JSON only: a form another site's page posts here (no preflight) is refused.
    if request.content_type != "application/json":
        raise _problem(web.HTTPUnsupportedMediaType, "send JSON")
    try:
        return model.model_validate(await request.json())
    except ValueError as error:  # ValidationError is a ValueError; so is unreadable JSON
        detail = (
            "; ".join(e["msg"] for e in error.errors())
            if isinstance(error, ValidationError)
            else "the body is not JSON"
        )
        raise _problem(web.HTTPBadRequest, detail) from None


def _problem(kind: type[web.HTTPError], message: str) -> web.HTTPError:
    """A refusal the page shows as it shows Webex's: {"message": …}."""
    return kind(text=json.dumps({"message": message}), content_type="application/json")


def _person(emu: Emulator, name: str) -> SeedPerson:
    person = emu.seed.people.get(name)
    if person is None:
        raise _problem(web.HTTPBadRequest, f"no such person: {name}")
    return person


@asynccontextmanager
async def running_console(
    emu: Emulator, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve the console on a local port; yield its URL."""
    runner = web.AppRunner(create_console(emu), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        yield f"http://{host}:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()
