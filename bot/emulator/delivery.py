"""Webhook delivery as Webex does it: matching, visibility, signed POSTs in the background."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import aiohttp

from bot.emulator.state import Event, State

log = logging.getLogger(__name__)
FAILURE_WINDOW = 300.0
FAILURE_LIMIT = 100
ENVELOPE_KEYS = (
    "id",
    "name",
    "targetUrl",
    "resource",
    "event",
    "filter",
    "orgId",
    "createdBy",
    "appId",
    "ownedBy",
    "status",
    "created",
)


@dataclass
class Delivery:
    """One POST of an event to a webhook's target, and how it went."""

    webhook_id: str
    target: str
    resource: str
    event: str
    data_id: str
    body: bytes
    headers: dict[str, str]
    at: float = field(default_factory=time.time)
    status: int | None = None
    error: str | None = None
    latency: float = 0.0
    redelivery: bool = False

    @property
    def ok(self) -> bool:
        """Whether the target answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def envelope(self) -> dict[str, Any]:
        """The JSON envelope that was sent."""
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


def sign(secret: str, body: bytes) -> str:
    """Return X-Spark-Signature: lowercase hex HMAC-SHA1 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def filter_matches(state: State, hook: dict[str, Any], event: Event, owner_id: str) -> bool:
    """Return whether an event passes a webhook's filter (roomId=…&mentionedPeople=me …)."""
    message = state.messages.get(event.data["id"], {}) if event.resource == "messages" else {}
    for key, wanted in parse_qsl(hook.get("filter", ""), keep_blank_values=True):
        if key == "mentionedPeople":
            if (owner_id if wanted == "me" else wanted) not in event.mentioned:
                return False
        elif key in ("hasFiles", "hasAttachments"):
            present = bool(message.get("files" if key == "hasFiles" else "attachments"))
            if present != (wanted.lower() == "true"):
                return False
        elif key in event.data and str(event.data[key]).lower() != wanted.lower():
            return False
    return True


def visible(state: State, owner_id: str, event: Event) -> bool:
    """Webex's rule: members see room events; a bot sees group messages only when mentioned."""
    owner = state.people.get(owner_id)
    if owner is None:
        return False
    if event.resource == "attachmentActions":
        return owner_id == event.card_author_id
    if not state.is_member(owner_id, event.room_id):
        return False
    if event.resource == "messages" and owner.kind == "bot":
        group = state.rooms[event.room_id]["type"] == "group"
        return not group or owner_id in event.mentioned or event.author_id == owner_id
    return True


class Deliverer:
    """Sends events to matching webhooks in background tasks and records every attempt."""

    def __init__(self, state: State, timeout: float = 5.0) -> None:
        self.state = state
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[Delivery]] = set()
        self._session: aiohttp.ClientSession | None = None

    def on_event(self, event: Event) -> None:
        """Listener: schedule one delivery per matching, active, entitled webhook."""
        for hook in list(self.state.webhooks.values()):
            if (
                hook["status"] != "active"
                or hook["resource"] != event.resource
                or hook["event"] != event.event
                or not visible(self.state, hook["createdBy"], event)
                or not filter_matches(self.state, hook, event, hook["createdBy"])
            ):
                continue
            envelope = {k: hook[k] for k in ENVELOPE_KEYS if k in hook}
            envelope.update({"actorId": event.actor_id, "data": dict(event.data)})
            body = json.dumps(envelope).encode()
            headers = {"Content-Type": "application/json"}
            if hook.get("secret"):
                headers["X-Spark-Signature"] = sign(hook["secret"], body)
            self._schedule(
                Delivery(
                    hook["id"],
                    hook["targetUrl"],
                    event.resource,
                    event.event,
                    event.data["id"],
                    body,
                    headers,
                )
            )

    def _schedule(self, delivery: Delivery) -> asyncio.Task[Delivery] | None:
        try:
            task = asyncio.get_running_loop().create_task(self._send(delivery))
        except RuntimeError:
            log.warning("no running loop: dropped delivery to webhook %s", delivery.webhook_id)
            return None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _send(self, delivery: Delivery) -> Delivery:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        started = time.perf_counter()
        try:
            async with self._session.post(
                delivery.target,
                data=delivery.body,
                headers=delivery.headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                await response.read()
                delivery.status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        delivery.latency = time.perf_counter() - started
        self.deliveries.append(delivery)
        if not delivery.ok:
            self._count_failure(delivery.webhook_id)
        return delivery

    def _count_failure(self, webhook_id: str) -> None:
        """Disable a webhook after 100 failed deliveries within 5 minutes."""
        now = time.time()
        recent = [
            t for t in self.state.webhook_failures.get(webhook_id, []) if now - t < FAILURE_WINDOW
        ]
        recent.append(now)
        self.state.webhook_failures[webhook_id] = recent
        hook = self.state.webhooks.get(webhook_id)
        if hook is not None and len(recent) >= FAILURE_LIMIT and hook["status"] == "active":
            hook["status"] = "inactive"
            log.info("webhook %s disabled after %d failed deliveries", webhook_id, len(recent))

    def find(self, item: Delivery | dict[str, Any] | str) -> Delivery:
        """Return the delivery meant by a Delivery, an envelope dict or a data id."""
        if isinstance(item, Delivery):
            return item
        if isinstance(item, dict):
            data_id, hook_id = item["data"]["id"], item.get("id")
        else:
            data_id, hook_id = item, None
        for delivery in reversed(self.deliveries):
            if delivery.data_id == data_id and hook_id in (None, delivery.webhook_id):
                return delivery
        raise LookupError(f"no delivery of {data_id!r} recorded yet")

    async def redeliver(
        self, item: Delivery | dict[str, Any] | str, times: int = 1, concurrently: bool = True
    ) -> list[Delivery]:
        """Send the same signed body again, as Webex may; return the new deliveries."""
        original = self.find(item)

        def copy() -> Delivery:
            return Delivery(
                original.webhook_id,
                original.target,
                original.resource,
                original.event,
                original.data_id,
                original.body,
                dict(original.headers),
                redelivery=True,
            )

        if concurrently:
            return list(await asyncio.gather(*(self._send(copy()) for _ in range(times))))
        return [await self._send(copy()) for _ in range(times)]

    async def idle(self, timeout: float = 5.0) -> None:
        """Wait until no delivery is in flight."""
        deadline = time.monotonic() + timeout
        while self._tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("webhook deliveries still in flight")
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def close(self) -> None:
        """Cancel pending deliveries and close the HTTP session."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
