"""What a test does as a person in a Webex client, and what it reads back from the emulator."""

from __future__ import annotations

import asyncio
import io
import json
import re
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.emulator import Emulator
from bot.security import sign
from bot.views.cards import validate_card
from tests.e2e.harness import SECRET, RunningBot

GROUP_ROOMS = frozenset({"group", "lobby"})


def is_group(room: str) -> bool:
    return room in GROUP_ROOMS


async def say(emu: Emulator, person: str, room: str, text: str, timeout: float = 8.0
              ) -> dict[str, Any]:
    """`person` types `text` in `room` (mentioning the bot in group spaces); returns the reply."""
    sent = await emu.post_message(person=person, room=room, text=text, mention_bot=is_group(room))
    return await reply_to(emu, sent, timeout)


async def reply_to(emu: Emulator, sent: dict[str, Any], timeout: float = 8.0) -> dict[str, Any]:
    bot_id = emu.seed.bot_id

    def is_reply(message: dict[str, Any]) -> bool:
        if message["personId"] != bot_id or message["roomId"] != sent["roomId"]:
            return False
        return sent.get("roomType") == "direct" or message.get("parentId") == sent["id"]

    return await emu.wait_for_message(is_reply, timeout=timeout)


async def next_bot_message(emu: Emulator, room_id: str, timeout: float = 8.0) -> dict[str, Any]:
    return await emu.wait_for_message(
        lambda m: m["personId"] == emu.seed.bot_id and m["roomId"] == room_id, timeout=timeout)


def bot_messages(emu: Emulator, room_id: str) -> list[dict[str, Any]]:
    """Every message the bot has in a space, as Webex holds them."""
    return [m for m in emu.state.messages.values()
            if m["personId"] == emu.seed.bot_id and m["roomId"] == room_id]


def card_of(message: dict[str, Any]) -> dict[str, Any]:
    attachments = message.get("attachments") or []
    assert attachments, f"no card in {message.get('markdown')!r}"
    assert attachments[0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = attachments[0]["content"]
    validate_card(card)
    return card


def card_text(message: dict[str, Any]) -> str:
    """Every string a person can read on the card, plus the markdown fallback."""
    strings: list[str] = [message.get("markdown") or ""]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("text", "title", "value", "label", "placeholder") and isinstance(
                        value, str):
                    strings.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card_of(message))
    # As a person reads it: markdown's backslash escapes (of names, addresses, ids) resolved.
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", "\n".join(strings))


def elements(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every element and action of the card, depth first."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "type" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card_of(message))
    return found


def submit_data(message: dict[str, Any], title: str) -> dict[str, Any]:
    """The `data` of the card's Action.Submit button called `title`."""
    found = [dict(e.get("data") or {}) for e in elements(message)
             if e["type"] == "Action.Submit" and e.get("title") == title]
    assert found, f"no button {title!r}"
    return found[0]


def inputs_of(message: dict[str, Any]) -> dict[str, Any]:
    """The values a Webex client would submit untouched: every input's id and value."""
    return {e["id"]: e.get("value", "") for e in elements(message)
            if str(e["type"]).startswith("Input.") and "id" in e}


def puts(emu: Emulator) -> list[Any]:
    return [c for c in emu.calls("PUT", "/telephony/config/emergencyCallNotification")
            if c.status == 204]


async def post_signed(bot: RunningBot, body: bytes, *, signature: str | None = "auto",
                      headers: dict[str, str] | None = None) -> int:
    """POST raw bytes to the bot's webhook, signed like Webex unless told otherwise."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if signature == "auto":
        all_headers["X-Spark-Signature"] = sign(SECRET.encode(), body)
    elif signature is not None:
        all_headers["X-Spark-Signature"] = signature
    async with aiohttp.ClientSession() as http, http.post(
        bot.webhook_url, data=io.BytesIO(body), headers=all_headers
    ) as reply:
        return reply.status


def envelope_for(emu: Emulator, message: dict[str, Any]) -> bytes:
    """A messages/created envelope for `message`, shaped as Webex sends it."""
    return json.dumps({
        "id": "webhook-under-test", "name": "ecn-bot messages",
        "targetUrl": "http://127.0.0.1/webhooks/webex", "resource": "messages",
        "event": "created", "orgId": emu.seed.org_id, "createdBy": emu.seed.bot_id,
        "appId": "app", "ownedBy": "creator", "status": "active",
        "created": "2026-11-27T10:00:00.000Z", "actorId": message["personId"],
        "data": {"id": message["id"], "roomId": message["roomId"],
                 "roomType": message.get("roomType"), "personId": message["personId"],
                 "personEmail": message.get("personEmail"), "created": message["created"]},
    }).encode()


async def settle(seconds: float = 0.3) -> None:
    await asyncio.sleep(seconds)


async def counted(bot: RunningBot, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of one counter on the bot's /metrics, by their labels."""
    async with aiohttp.ClientSession() as http, http.get(f"{bot.ops_url}/metrics") as reply:
        text = await reply.text()
    return {tuple(sorted(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == name}
