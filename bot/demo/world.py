"""What the browser console shows of the emulator: people, spaces, messages, the setting, as data.

A snapshot is read from the emulator's state as it is now; `changes` turns two snapshots into
the server-sent events the page applies, so the page never asks again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.emulator import Emulator
from bot.emulator.seed import ROLE_NAMES, role_id

CARD = "application/vnd.microsoft.card.adaptive"
ROLE_LABELS = {role_id(key): name for key, name in ROLE_NAMES.items()}
MESSAGE_FIELDS = ("id", "roomId", "roomType", "parentId", "personId", "text", "markdown", "created")


@dataclass(frozen=True)
class Snapshot:
    """The part of Webex the page draws: `scene` (who, where, the setting) and the messages."""

    scene: dict[str, Any] = field(default_factory=dict)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)


def snapshot(emu: Emulator) -> Snapshot:
    """Read the emulator's state now."""
    state, seed = emu.state, emu.seed
    people = []
    for name, person in seed.people.items():
        identity = state.people[person.id]
        people.append(
            {
                "name": name,
                "id": identity.id,
                "displayName": identity.display_name,
                "email": identity.email,
                "roles": [ROLE_LABELS.get(r, r) for r in identity.roles],
                "org": state.orgs[identity.org_id]["displayName"],
            }
        )
    spaces = []
    for room_id, room in state.rooms.items():
        members = state.member_ids(room_id)
        spaces.append(
            {
                "id": room_id,
                "title": room["title"],
                "type": room["type"],
                "members": members,
            }
        )
    scene = {
        "orgName": seed.org_name,
        "bot": {"id": seed.bot_id, "name": seed.bot_name},
        "people": people,
        "spaces": spaces,
        "setting": emu.setting(),
        "locations": locations(emu),
    }
    messages = {m["id"]: page_message(m) for m in state.messages.values()}
    return Snapshot(scene, messages)


def locations(emu: Emulator) -> list[dict[str, Any]]:
    """Every location of the organization, with its own notification state, as Webex holds it."""
    found = []
    for location_id, location in emu.state.locations.items():
        if location.get("orgId") != emu.seed.org_id:
            continue
        found.append(
            {
                "id": location_id,
                "name": location.get("name") or "",
                "calling": bool(location.get("calling", True)),  # has Webex Calling
                "enabled": bool(location.get("emergencyCallNotificationEnabled")),
                "emailAddress": location.get("emailAddress") or "",
            }
        )
    return found


def page_message(message: dict[str, Any]) -> dict[str, Any]:
    """A message as the page needs it: its card's content, never its html (shown as text)."""
    shown = {k: message[k] for k in MESSAGE_FIELDS if k in message}
    cards = [a for a in message.get("attachments", []) if a.get("contentType") == CARD]
    shown["card"] = cards[0].get("content") if cards else None
    shown["mentionedPeople"] = list(message.get("mentionedPeople", []))
    return shown


def changes(before: Snapshot, after: Snapshot) -> Iterator[tuple[str, Any]]:
    """The events that take the page from `before` to `after`, in the order to apply them."""
    if after.scene != before.scene:
        yield "scene", after.scene
    for message_id, message in after.messages.items():
        if before.messages.get(message_id) != message:
            yield "message", message
    for message_id in before.messages.keys() - after.messages.keys():
        yield "removed", {"id": message_id}
