"""Messages, card submissions, rooms and memberships: the operations behind the routes."""

from __future__ import annotations

from typing import Any

from bot.emulator.errors import ApiError
from bot.emulator.ids import iso
from bot.emulator.mentions import render
from bot.emulator.state import Event, Identity, State

CARD = "application/vnd.microsoft.card.adaptive"
MAX_BYTES = 7439

MAX_EDITS = 10  # Webex: a message may be edited at most ten times

def _lookup(state: State) -> Any:
    """Return the mention resolver over the state's people."""

    def find(kind: str, key: str) -> Identity | None:
        return state.people.get(key) if kind == "personId" else state.person_by_email(key)

    return find


def can_read(state: State, viewer: Identity, message: dict[str, Any]) -> bool:
    """Webex's read rule: members only; a bot in a group sees mentions and its own posts."""
    if not state.is_member(viewer.id, message["roomId"]):
        return False
    if viewer.kind == "bot" and message["roomType"] == "group":
        return message["personId"] == viewer.id or viewer.id in message.get("mentionedPeople", [])
    return True


def _target_room(state: State, actor: Identity, body: dict[str, Any]) -> str:
    """Return the room a new message goes to (roomId, or the 1:1 room with toPerson*)."""
    targets = [k for k in ("roomId", "toPersonId", "toPersonEmail") if body.get(k)]
    if len(targets) != 1:
        raise ApiError(400, "Exactly one of roomId, toPersonId or toPersonEmail is required.")
    if "roomId" in body:
        room_id = body["roomId"]
        if room_id not in state.rooms or not state.is_member(actor.id, room_id):
            raise ApiError(404, "Could not find a room with the provided ID.")
        return str(room_id)
    other = (
        state.people.get(body["toPersonId"])
        if "toPersonId" in body
        else state.person_by_email(body["toPersonEmail"])
    )
    if other is None:
        raise ApiError(404, "Could not find the person to send the message to.")
    if other.id == actor.id:
        raise ApiError(400, "Cannot send a 1:1 message to yourself.")
    return state.direct_room(actor.id, other.id)


def _check_content(body: dict[str, Any]) -> None:
    """Raise 400 for an empty, oversized or badly attached message."""
    if not any(body.get(k) for k in ("text", "markdown", "files", "attachments")):
        raise ApiError(400, "The message must contain text, markdown, files or attachments.")
    for key in ("text", "markdown"):
        if len(body.get(key, "").encode()) > MAX_BYTES:
            raise ApiError(400, f"The {key} is longer than {MAX_BYTES} bytes.")
    attachments = body.get("attachments") or []
    if len(attachments) > 1:
        raise ApiError(400, "Only one attachment is allowed per message.")
    if attachments and attachments[0].get("contentType") != CARD:
        raise ApiError(400, f"Attachment contentType must be {CARD}.")


def _render_into(state: State, message: dict[str, Any], body: dict[str, Any]) -> None:
    """Fill text, markdown, html and mentionedPeople from a request body."""
    for key in ("text", "markdown", "html", "mentionedPeople"):
        message.pop(key, None)
    markdown = body.get("markdown")
    source = markdown if markdown else body.get("text", "")
    rendered = render(source, _lookup(state), markdown=bool(markdown))
    message["text"] = body["text"] if markdown and body.get("text") else rendered.text
    if markdown:
        message["markdown"] = markdown
    if markdown or rendered.mentioned:
        message["html"] = rendered.html
    if rendered.mentioned:
        message["mentionedPeople"] = list(rendered.mentioned)


def create_message(state: State, actor: Identity, body: dict[str, Any]) -> dict[str, Any]:
    """POST /messages: store the message and announce messages/created."""
    _check_content(body)
    room_id = _target_room(state, actor, body)
    room = state.rooms[room_id]
    message: dict[str, Any] = {"id": state.ids.new("MESSAGE")}
    if body.get("parentId"):
        parent = state.messages.get(body["parentId"])
        if parent is None or parent["roomId"] != room_id:
            raise ApiError(400, "The parent message was not found in this room.")
        if "parentId" in parent:
            raise ApiError(400, "Cannot reply to a reply; use the thread's first message.")
        message["parentId"] = parent["id"]
    message.update({"roomId": room_id, "roomType": room["type"]})
    _render_into(state, message, body)
    if body.get("files"):
        message["files"] = list(body["files"])
    if body.get("attachments"):
        message["attachments"] = list(body["attachments"])
    message.update({"personId": actor.id, "personEmail": actor.email, "created": iso()})
    state.messages[message["id"]] = message
    room["lastActivity"] = message["created"]
    data = {
        k: message[k] for k in ("id", "roomId", "roomType", "personId", "personEmail", "created")
    }
    if "parentId" in message:
        data["parentId"] = message["parentId"]
    state.emit(
        Event(
            "messages",
            "created",
            actor.id,
            data,
            room_id,
            tuple(message.get("mentionedPeople", ())),
            author_id=actor.id,
        )
    )
    return dict(message)


def readable_message(state: State, viewer: Identity, message_id: str) -> dict[str, Any]:
    """Return a message the viewer may read, or raise 404/403."""
    message = state.messages.get(message_id)
    if message is None or not state.is_member(viewer.id, message["roomId"]):
        raise ApiError(404, "Could not find a message with the provided ID.")
    if not can_read(state, viewer, message):
        raise ApiError(403, "Bots can only read group messages that mention them.")
    return message


def edit_message(
    state: State, actor: Identity, message_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """PUT /messages/{id}: change the text or markdown of one's own message."""
    message = readable_message(state, actor, message_id)
    if message["personId"] != actor.id:
        raise ApiError(403, "Only the author of a message may edit it.")
    if body["roomId"] != message["roomId"]:
        raise ApiError(400, "roomId does not match the message's room.")
    if not (body.get("text") or body.get("markdown")):
        raise ApiError(400, "text or markdown is required.")
    if message.get("attachments") or message.get("files"):
        raise ApiError(400, "A message with a card or files cannot be edited.")
    if state.edits.get(message_id, 0) >= MAX_EDITS:
        raise ApiError(400, f"A message can be edited at most {MAX_EDITS} times.")
    _check_content(body)
    _render_into(state, message, body)
    state.edits[message_id] = state.edits.get(message_id, 0) + 1
    message["updated"] = iso()
    return dict(message)


def delete_message(state: State, actor: Identity, message_id: str) -> None:
    """DELETE /messages/{id}: remove one's own message."""
    message = readable_message(state, actor, message_id)
    if message["personId"] != actor.id:
        raise ApiError(403, "Only the author of a message may delete it.")
    del state.messages[message_id]


def list_messages(state: State, viewer: Identity, query: dict[str, str]) -> list[dict[str, Any]]:
    """GET /messages?roomId=: newest first, only what the viewer may read."""
    room_id = query.get("roomId", "")
    if room_id not in state.rooms or not state.is_member(viewer.id, room_id):
        raise ApiError(404, "Could not find a room with the provided ID.")
    mentioned = query.get("mentionedPeople")
    wanted = viewer.id if mentioned == "me" else mentioned
    items = [
        m
        for m in state.messages.values()
        if m["roomId"] == room_id
        and can_read(state, viewer, m)
        and (not query.get("parentId") or m.get("parentId") == query["parentId"])
        and (not wanted or wanted in m.get("mentionedPeople", []))
        and (not query.get("before") or m["created"] < query["before"])
    ]
    items.reverse()
    return [dict(m) for m in items[: int(query.get("max", "50") or 50)]]


def create_action(state: State, actor: Identity, body: dict[str, Any]) -> dict[str, Any]:
    """POST /attachment/actions: record a card submission and tell the card's author."""
    message = state.messages.get(body["messageId"])
    if message is None or not state.is_member(actor.id, message["roomId"]):
        raise ApiError(404, "Could not find a message with the provided ID.")
    if not any(a.get("contentType") == CARD for a in message.get("attachments", [])):
        raise ApiError(400, "The message has no card attachment.")
    action = {
        "id": state.ids.new("ATTACHMENT_ACTION"),
        "type": body["type"],
        "messageId": message["id"],
        "inputs": dict(body["inputs"]),
        "personId": actor.id,
        "roomId": message["roomId"],
        "created": iso(),
    }
    state.actions[action["id"]] = action
    data = {k: action[k] for k in ("id", "type", "messageId", "personId", "roomId", "created")}
    state.emit(
        Event(
            "attachmentActions",
            "created",
            actor.id,
            data,
            message["roomId"],
            author_id=actor.id,
            card_author_id=message["personId"],
        )
    )
    return dict(action)


def get_action(state: State, viewer: Identity, action_id: str) -> dict[str, Any]:
    """GET /attachment/actions/{id}: readable by the card's author and the submitter."""
    action = state.actions.get(action_id)
    card = state.messages.get(action["messageId"]) if action else None
    allowed = {action["personId"], card["personId"] if card else ""} if action else set()
    if action is None or viewer.id not in allowed:
        raise ApiError(404, "Could not find an attachment action with the provided ID.")
    return dict(action)


def get_room(state: State, viewer: Identity, room_id: str) -> dict[str, Any]:
    """GET /rooms/{id}: members only."""
    if room_id not in state.rooms or not state.is_member(viewer.id, room_id):
        raise ApiError(404, "Could not find a room with the provided ID.")
    return dict(state.rooms[room_id])


def list_memberships(state: State, viewer: Identity, query: dict[str, str]) -> list[dict[str, Any]]:
    """GET /memberships: a room's members (for a member) or the viewer's own memberships."""
    room_id = query.get("roomId")
    if room_id is None:
        if query.get("personId") or query.get("personEmail"):
            raise ApiError(400, "roomId is required when filtering by person.")
        items = [m for m in state.memberships.values() if m["personId"] == viewer.id]
    else:
        get_room(state, viewer, room_id)
        items = [
            m
            for m in state.memberships.values()
            if m["roomId"] == room_id
            and query.get("personId", m["personId"]) == m["personId"]
            and query.get("personEmail", m["personEmail"]).lower() == m["personEmail"].lower()
        ]
    return [dict(m) for m in items[: int(query.get("max", "100") or 100)]]


def create_membership(state: State, actor: Identity, body: dict[str, Any]) -> dict[str, Any]:
    """POST /memberships: add a person to a group room and announce memberships/created."""
    room = get_room(state, actor, body["roomId"])
    if room["type"] == "direct":
        raise ApiError(409, "Cannot add members to a 1:1 room.")
    person = (
        state.people.get(body["personId"])
        if body.get("personId")
        else state.person_by_email(body.get("personEmail", ""))
    )
    if person is None:
        raise ApiError(
            404 if body.get("personId") or body.get("personEmail") else 400,
            "Could not find the person to add."
            if body.get("personId") or body.get("personEmail")
            else "personId or personEmail is required.",
        )
    if state.is_member(person.id, room["id"]):
        raise ApiError(409, "The person is already a member of the room.")
    membership = state.add_membership(
        room["id"], person.id, moderator=bool(body.get("isModerator"))
    )
    data = {k: v for k, v in membership.items() if k != "isRoomHidden"}
    state.emit(Event("memberships", "created", actor.id, data, room["id"], author_id=actor.id))
    return dict(membership)
