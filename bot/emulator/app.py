"""The Emulator: an aiohttp app that answers like Webex's /v1 API, plus test helpers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from bot.emulator.admin import SETTING_FIELDS
from bot.emulator.book import Places
from bot.emulator.changes import Changes
from bot.emulator.delivery import Deliverer, Delivery
from bot.emulator.faults import Faults
from bot.emulator.oauth import revoke_authorization
from bot.emulator.pipeline import Pipeline, RecordedRequest
from bot.emulator.seed import Seed
from bot.emulator.state import Event, Identity, State

MessagePredicate = Callable[[dict[str, Any]], bool]


class Emulator:
    """Webex's REST API in memory: state, faults, webhook delivery and client-side helpers."""

    def __init__(
        self,
        seed: Seed | None = None,
        *,
        check_responses: bool = False,
        delivery_timeout: float = 5.0,
    ) -> None:
        self.seed = seed or Seed.default()
        self.state = State.from_seed(self.seed)
        self.faults = Faults()
        self.places = Places(self.state)
        self.pipeline = Pipeline(self.state, self.faults)
        self.pipeline.check_responses = check_responses
        self.deliverer = Deliverer(self.state, delivery_timeout)
        self.base_url = ""
        self._log: list[tuple[int, str]] = []
        self._mark = 0
        self._waiters: list[tuple[MessagePredicate, asyncio.Future[dict[str, Any]]]] = []
        self.changes = Changes()  # wakes the demo's browser console after each write
        self.state.listeners.extend(
            [self.deliverer.on_event, self._on_event, self.changes.on_event]
        )

    # --- knobs -------------------------------------------------------------------------
    @property
    def latency(self) -> float:
        """Seconds added to every /v1 request."""
        return self.pipeline.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.pipeline.latency = seconds

    @property
    def access_token_ttl(self) -> int:
        """Lifetime in seconds of access tokens issued by POST /access_token."""
        return self.state.access_token_ttl

    @access_token_ttl.setter
    def access_token_ttl(self, seconds: int) -> None:
        self.state.access_token_ttl = seconds

    @property
    def deliveries(self) -> list[Delivery]:
        """Every webhook delivery attempted so far."""
        return self.deliverer.deliveries

    def expire_token(self, token: str) -> None:
        """Make an access token stop working now."""
        self.state.tokens[token].expires_at = time.time()

    def revoke_refresh_token(self, refresh_token: str) -> None:
        """Revoke a refresh token: refreshing with it answers 400 invalid_grant."""
        self.state.refresh_tokens[refresh_token].revoked = True

    def revoke_authorization(self, who: str) -> int:
        """Revoke a person's authorization of the Integration (as in their Webex settings)."""
        return revoke_authorization(
            self.state, self.identity(who).id, self.seed.integration_client_id)

    def calls(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Requests received on /v1, filtered by method and path (without /v1; glob allowed)."""
        return self.pipeline.calls(method, path)

    def setting(self, org_id: str | None = None) -> dict[str, Any]:
        """The org's current emergencyCallNotification setting."""
        return dict(self.state.settings[org_id or self.seed.org_id])

    def set_setting(self, org_id: str | None = None, **fields: Any) -> None:
        """Change the org's setting as an administrator would in Control Hub."""
        unknown = set(fields) - set(SETTING_FIELDS)
        if unknown:
            raise KeyError(f"unknown setting fields: {sorted(unknown)}")
        self.state.settings[org_id or self.seed.org_id].update(fields)
        self.changes.notify()

    def control_hub(
        self, admin: str, location: str | None = None, org_id: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Change the org's setting, or a location's (by name or id), as `admin` does in
        Control Hub: recorded in the admin audit log. Returns the setting after."""
        from bot.emulator import controlhub

        org, who = org_id or self.seed.org_id, self.identity(admin)
        if location is None:
            return controlhub.change_org_setting(self.state, who, org, fields)
        return controlhub.change_location_setting(self.state, who, org, location, fields)

    def reset(self) -> None:
        """Forget recorded requests, deliveries, faults and latency."""
        self.pipeline.requests.clear()
        self.deliverer.deliveries.clear()
        self.faults.clear()
        self.latency = 0.0

    # --- what a person does in a Webex client ---------------------------------------
    def identity(self, who: str) -> Identity:
        """Return a seed person by name ("alice", "bot", "admin") or an identity by id."""
        ids = {n: p.id for n, p in self.seed.people.items()}
        ids.update(bot=self.seed.bot_id, admin=self.seed.admin_app.id)
        return self.state.people[ids.get(who, who)]

    def room_id(self, room: str) -> str:
        """Return a room id from a seed room name or an id."""
        return self.seed.rooms.get(room, room)

    async def post_message(
        self,
        person: str,
        room: str,
        text: str,
        *,
        mention_bot: bool = False,
        parent_id: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Post a message as a person types it (same path as POST /v1/messages)."""
        if mention_bot:
            text = f"<@personId:{self.seed.bot_id}|{self.seed.bot_name}> {text}".rstrip()
        body: dict[str, Any] = {"roomId": self.room_id(room), "text": text}
        if parent_id:
            body["parentId"] = parent_id
        if attachments:
            body["attachments"] = attachments
        return self._as(person, "POST", "/messages", body)

    async def press_card(
        self, person: str, message_id: str, inputs: dict[str, Any]
    ) -> dict[str, Any]:
        """Submit a card as a person (same path as POST /v1/attachment/actions)."""
        body = {"type": "submit", "messageId": message_id, "inputs": inputs}
        return self._as(person, "POST", "/attachment/actions", body)

    async def add_member(self, room: str, person: str, by: str = "alice") -> dict[str, Any]:
        """Add a person to a room (same path as POST /v1/memberships)."""
        body = {"roomId": self.room_id(room), "personId": self.identity(person).id}
        return self._as(by, "POST", "/memberships", body)

    def _as(self, who: str, method: str, template: str, body: dict[str, Any]) -> dict[str, Any]:
        self._mark = self.state.seq
        reply = self.pipeline.invoke(self.identity(who), method, template, body=body)
        result: dict[str, Any] = reply.body
        return result

    async def wait_for_message(
        self, predicate: MessagePredicate, timeout: float = 5.0, since: int | None = None
    ) -> dict[str, Any]:
        """Wait for a message matching predicate created after the last helper action."""
        floor = self._mark if since is None else since
        for seq, message_id in self._log:
            message = self.state.messages.get(message_id)
            if seq > floor and message is not None and predicate(dict(message)):
                return dict(message)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        entry = (predicate, future)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiters.remove(entry)

    def _on_event(self, event: Event) -> None:
        if event.resource != "messages":
            return
        self._log.append((event.seq, event.data["id"]))
        message = dict(self.state.messages[event.data["id"]])
        for predicate, future in list(self._waiters):
            if future.done():
                continue
            try:
                if predicate(dict(message)):
                    future.set_result(message)
            except Exception as exc:  # a failing predicate fails its waiter
                future.set_exception(exc)

    async def redeliver(
        self,
        delivery_or_event: Delivery | dict[str, Any] | str,
        times: int = 1,
        concurrently: bool = True,
    ) -> list[Delivery]:
        """Send a delivered event again with the same signed body, as Webex may."""
        return await self.deliverer.redeliver(delivery_or_event, times, concurrently)

    async def idle(self, timeout: float = 5.0) -> None:
        """Wait until no webhook delivery is in flight."""
        await self.deliverer.idle(timeout)

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        """The app's cleanup context: deliveries and hung requests end with the app."""
        self.pipeline.closing.clear()
        yield
        await self.close()

    async def close(self) -> None:
        """Wake hung requests and cancel pending webhook deliveries."""
        self.pipeline.closing.set()
        await self.deliverer.close()
