"""The harness's side of the wire: signed envelopes, an ack-timing sender, a reply listener."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.security import sign

_ID_SEGMENT = re.compile(r"/[A-Za-z0-9_-]{40,}")


def endpoint_of(method: str, path: str) -> str:
    """`GET /messages/Y2lz…` → `GET /messages/{id}`."""
    return f"{method} {_ID_SEGMENT.sub('/{id}', path)}"


def envelope(seed: dict[str, Any], message: dict[str, Any], **data: Any) -> bytes:
    """A messages/created envelope for `message`, shaped as Webex sends it."""
    body = {
        "id": "load-webhook", "name": "ecn-bot messages",
        "targetUrl": "http://127.0.0.1/webhooks/webex", "resource": "messages",
        "event": "created", "orgId": seed["orgId"], "createdBy": seed["bot"]["id"],
        "appId": "app", "ownedBy": "creator", "status": "active",
        "created": "2026-11-27T10:00:00.000Z", "actorId": message["personId"],
        "data": {"id": message["id"], "roomId": message["roomId"],
                 "roomType": message.get("roomType"), "personId": message["personId"],
                 "personEmail": message.get("personEmail"), "created": message["created"],
                 **data},
    }
    return json.dumps(body).encode()


@dataclass
class Sender:
    """Posts signed bodies to the bot's webhook and times each acknowledgement."""

    url: str
    secret: bytes
    session: aiohttp.ClientSession
    acks: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    async def post(self, body: bytes, *, record: bool = True) -> tuple[int, float, float]:
        """Returns (status, sent-at wall clock, ack seconds)."""
        headers = {"Content-Type": "application/json",
                   "X-Spark-Signature": sign(self.secret, body)}
        sent_at = time.time()
        started = time.perf_counter()
        async with self.session.post(self.url, data=body, headers=headers) as reply:
            await reply.read()
            status = reply.status
        took = time.perf_counter() - started
        if record:
            self.acks.append(took)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        return status, sent_at, took


class ReplyListener:
    """Receives the emulator's deliveries of the bot's own messages (a webhook the harness
    registers with `personId=<bot>`), so a closed loop knows when each reply has landed."""

    def __init__(self) -> None:
        self.replies: dict[str, list[dict[str, Any]]] = {}
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        data = (await request.json()).get("data", {})
        key = data.get("parentId") or data.get("roomId")
        self.replies.setdefault(key, []).append(data)
        waiter = self._waiters.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(data)
        return web.Response()

    def expect(self, key: str) -> asyncio.Future[dict[str, Any]]:
        """A future for the next reply in thread `key` (a command message id)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if self.replies.get(key):
            future.set_result(self.replies[key][-1])
        else:
            self._waiters[key] = future
        return future


async def register_reply_hook(control_base: str, seed: dict[str, Any], target: str) -> None:
    """Ask the emulator (as the bot) to deliver the bot's own new messages to `target`."""
    api = control_base.removesuffix("/_emulator") + "/v1"
    body = {"name": "load harness: bot replies", "targetUrl": target, "resource": "messages",
            "event": "created", "filter": f"personId={seed['bot']['id']}"}
    headers = {"Authorization": f"Bearer {seed['bot']['token']}"}
    async with aiohttp.ClientSession() as http, http.post(
        f"{api}/webhooks", json=body, headers=headers
    ) as reply:
        assert reply.status == 200, await reply.text()


async def create_message(http: aiohttp.ClientSession, control: str, person: str, room: str,
                         text: str, *, mention: bool = True) -> dict[str, Any]:
    """A person types `text` in `room` (through the control API: nothing is delivered to the
    bot, whose webhooks are not registered; the harness posts the envelope itself)."""
    body = {"person": person, "room": room, "text": text, "mention_bot": mention}
    async with http.post(f"{control}/messages", json=body) as reply:
        assert reply.status == 200, await reply.text()
        result: dict[str, Any] = await reply.json()
        return result


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
