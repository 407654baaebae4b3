"""The harness's side of the wire: signed envelopes, messages typed in the emulator, and the
feed that tells when each of the bot's replies landed."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import aiohttp

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


class Landings(asyncio.Protocol):
    """The emulator's line for each message the bot creates (`benchmarks.emulator`, its
    `landings` port), read on one connection, so that a closed loop knows at once when each
    reply has landed: no webhook delivery, signing or HTTP parsing in between."""

    def __init__(self) -> None:
        self.replies: dict[str, list[dict[str, Any]]] = {}
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._buffer = bytearray()
        self._transport: asyncio.BaseTransport | None = None
        self._hello: asyncio.Future[None] | None = None

    async def connect(self, host: str, port: int) -> None:
        """Connected and subscribed: the emulator's greeting has arrived."""
        loop = asyncio.get_running_loop()
        self._hello = loop.create_future()
        await loop.create_connection(lambda: self, host, port)
        await asyncio.wait_for(self._hello, 10)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\n")) >= 0:
            record = json.loads(bytes(self._buffer[:end]))
            del self._buffer[:end + 1]
            if record.get("hello"):
                if self._hello is not None and not self._hello.done():
                    self._hello.set_result(None)
                continue
            key = record["key"]
            self.replies.setdefault(key, []).append(record)
            waiter = self._waiters.pop(key, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(record)

    def connection_lost(self, exc: Exception | None) -> None:
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(ConnectionError("the emulator's landing feed closed"))
        self._waiters.clear()

    def expect(self, key: str) -> asyncio.Future[dict[str, Any]]:
        """A future for the next reply in thread `key` (a command message id)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if self.replies.get(key):
            future.set_result(self.replies[key][-1])
        else:
            self._waiters[key] = future
        return future


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
