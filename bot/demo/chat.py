"""python -m bot chat: a line-based Webex client for the emulator's people and spaces."""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.demo import controlhub
from bot.demo import render as draw

POLL_SECONDS = 0.2
DIRECT = "direct"
MENTION = re.compile(r"^@(bot|kari(\s+bot)?)\b[\s,:]*", re.IGNORECASE)
PRESS = re.compile(r"^(?P<button>.+?)(?:\s+on(?:\s+card)?\s+(?P<card>\d+))?$", re.IGNORECASE)


class ChatError(Exception):
    """Why the chat cannot do what the person asked; shown as a [chat] line."""


class WebexRefused(ChatError):
    """Webex (the emulator) answered with an error; shown as a [webex] line."""


class EmulatorClient:
    """Webex's /v1 API with a person's token, and the emulator's local /_emulator control API."""

    def __init__(self, url: str) -> None:
        self.root = url.rstrip("/").removesuffix("/v1")

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        url = self.root + path
        if not url.startswith(("http://", "https://")):
            raise ChatError(f"the emulator URL must start with http:// or https://, not {url!r}")
        # S310: the scheme is checked just above, so no file: or custom scheme is opened.
        request = urllib.request.Request(url, data, headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - as above
                raw = reply.read()
        except urllib.error.HTTPError as error:
            raise WebexRefused(_webex_error(error.code, error.read())) from None
        except (urllib.error.URLError, OSError) as error:
            raise ChatError(f"cannot reach the emulator at {self.root} ({error})") from None
        return json.loads(raw) if raw else None

    def messages(self, since: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"since": since}) if since else ""
        return list(self.call("GET", f"/_emulator/messages?{query}")["items"])


def start_in_background(thread: threading.Thread) -> None:
    """Start a thread that never receives Ctrl-C or SIGTERM, so they always reach the main one.

    A signal taken by another thread leaves the main thread asleep in input() until Enter.
    """
    stops = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _webex_error(status: int, raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    tracking = body.get("trackingId") if isinstance(body, dict) else None
    text = f"Webex answered {status}: {message or raw.decode(errors='replace').strip()}"
    return f"{text} (tracking id {tracking})" if tracking else text


@dataclass
class Shown:
    """A card drawn on the screen, by its number in this chat."""

    number: int
    message: dict[str, Any]
    card: dict[str, Any]
    removed: bool = False


Command = Callable[["Chat", str], None]
COMMANDS: dict[str, tuple[Command, str, str]] = {}


def command(name: str, usage: str, about: str) -> Callable[[Command], Command]:
    """Register a /command; /help is generated from this table."""

    def register(function: Command) -> Command:
        COMMANDS[name] = (function, usage, about)
        return function

    return register


@dataclass
class Chat:
    """One person typing in one space, as a Webex client would let them."""

    client: EmulatorClient
    person: str
    room: str
    console: draw.Console = field(default_factory=draw.Console)
    cards: list[Shown] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.seed: dict[str, Any] = self.client.call("GET", "/_emulator/seed")
        self.room_names = {v: k for k, v in self.seed["rooms"].items()}
        self.directs: dict[str, str] = {}  # 1:1 spaces made by a first message
        self.sent: set[str] = set()
        existing = self.client.messages("")
        self.seen = {m["id"] for m in existing}
        self.since = _earlier(max(m["created"] for m in existing)) if existing else ""
        self.setting = self.client.call("GET", "/_emulator/setting")
        if self.person not in self.seed["people"]:
            raise ChatError(f"no such person: {self.person} (try {', '.join(self.seed['people'])})")

    # --- where the person is -----------------------------------------------------------
    @property
    def token(self) -> str:
        return str(self.seed["people"][self.person]["token"])

    @property
    def room_id(self) -> str | None:
        if self.room == DIRECT:
            return self.seed["rooms"].get(f"direct_{self.person}") or self.directs.get(self.person)
        return str(self.seed["rooms"].get(self.room, self.room))

    @property
    def in_group(self) -> bool:
        return self.room != DIRECT and not self.room.startswith("direct_")

    @property
    def prompt(self) -> str:
        return f"{self.person}@{self.room}{' @Kari' if self.in_group else ''}> "

    def name_of(self, person_id: str) -> str:
        if person_id == self.seed["bot"]["id"]:
            return str(self.seed["bot"]["name"])
        people = self.seed["people"].values()
        return next((str(p["displayName"]) for p in people if p["id"] == person_id), person_id)

    # --- the loop ----------------------------------------------------------------------
    def run(self) -> int:
        self.console.show(
            f"You are {self.name_of(self.seed['people'][self.person]['id'])} "
            f"({self.person}). /help lists the commands; /quit or Ctrl-C stops.",
            "[webex] " + draw.setting_line(self.seed["orgName"], self.setting),
        )
        poller = threading.Thread(target=self._poll_loop, name="chat-poller", daemon=True)
        start_in_background(poller)
        try:
            while not self.stopping.is_set():
                line = self.console.ask(self.prompt).strip()
                if line:
                    self.handle(line)
        except (EOFError, KeyboardInterrupt):
            self.console.show("")
        finally:
            self.stopping.set()
        return 0

    def handle(self, line: str) -> None:
        try:
            if line.startswith("/"):
                name, _, rest = line[1:].partition(" ")
                entry = COMMANDS.get(name.lower())
                if entry is None:
                    raise ChatError(f"unknown command /{name}; /help lists them")
                entry[0](self, rest.strip())
            else:
                self.say(line)
        except ChatError as error:
            source = "webex" if isinstance(error, WebexRefused) else "chat"
            self.console.show(f"[{source}] {error}")

    def say(self, text: str) -> None:
        """Post as the person: POST /v1/messages with their token, mentioning the bot in groups."""
        text = MENTION.sub("", text) if self.in_group else text
        body: dict[str, Any] = {"text": text}
        if self.in_group:
            body["text"] = f"<@personId:{self.seed['bot']['id']}|{self.seed['bot']['name']}> {text}"
        room_id = self.room_id
        if room_id:
            body["roomId"] = room_id
        else:  # no 1:1 space yet: a first message to the bot makes one, as in Webex
            body["toPersonId"] = self.seed["bot"]["id"]
        sent = self.client.call("POST", "/v1/messages", body, self.token)
        self.sent.add(sent["id"])
        if not room_id:
            self.directs[self.person] = sent["roomId"]

    # --- what arrives ------------------------------------------------------------------
    def _poll_loop(self) -> None:
        failing = False
        while not self.stopping.wait(POLL_SECONDS):
            try:
                self.poll()
                failing = False
            except ChatError as error:
                if not failing:
                    self.console.show(f"[chat] {error}")
                failing = True

    def poll(self) -> None:
        """Show new messages in the current space, removed cards, and a changed setting."""
        live = [c for c in self.cards if not c.removed]
        since = min([self.since, *(_earlier(c.message["created"]) for c in live[:1])])
        messages = self.client.messages(since)
        room_id = self.room_id
        for message in messages:
            if message["id"] in self.seen:
                continue
            self.seen.add(message["id"])
            if message["roomId"] == room_id and message["id"] not in self.sent:
                self.show_message(message)
        if messages:
            self.since = _earlier(max(m["created"] for m in messages))
        present = {m["id"] for m in messages}
        for shown in live:
            if shown.message["id"] not in present:
                shown.removed = True
                self.console.show(
                    f"[webex] {self.name_of(shown.message['personId'])} removed card {shown.number}"
                )
        setting = self.client.call("GET", "/_emulator/setting")
        if setting != self.setting:
            self.setting = setting
            self.console.show("[webex] " + draw.setting_line(self.seed["orgName"], setting))

    def show_message(self, message: dict[str, Any]) -> None:
        card = draw.card_of(message)
        number = None
        if card is not None:
            number = len(self.cards) + 1
            self.cards.append(Shown(number, message, card))
        self.console.show(*draw.render_message(message, self.name_of(message["personId"]), number))

    # --- pressing a card ---------------------------------------------------------------
    def press(self, spec: str) -> None:
        match = PRESS.match(spec)
        if not spec or match is None:
            raise ChatError("say which button: /press 1, /press Save, /press 2 on card 3")
        shown = self._card(match["card"])
        button = draw.find_button(shown.card, match["button"])
        if button is None:
            titles = "  ".join(f"[{b.number}] {b.title}" for b in draw.buttons_of(shown.card))
            raise ChatError(f"card {shown.number} has no button {match['button']!r}: {titles}")
        if button.kind == "Action.OpenUrl":
            self.console.show(f"[chat] opens {button.action.get('url')}")
            return
        if button.kind == "Action.ShowCard" and isinstance(button.action.get("card"), dict):
            self.show_message(
                {
                    **shown.message,
                    "attachments": [
                        {
                            "contentType": "application/vnd.microsoft.card.adaptive",
                            "content": button.action["card"],
                        }
                    ],
                }
            )
            return
        with self.console.holding():  # what arrives meanwhile waits until the form is done
            inputs = draw.fill_inputs(shown.card) if button.sends_inputs else {}
        body = {
            "type": "submit",
            "messageId": shown.message["id"],
            "inputs": {**button.data, **inputs},
        }
        self.client.call("POST", "/v1/attachment/actions", body, self.token)
        self.console.show(f"[chat] {self.person} pressed {button.title!r} on card {shown.number}")

    def _card(self, number: str | None) -> Shown:
        if not self.cards:
            raise ChatError("no card has been shown yet")
        if number is None:  # the last card with something to press
            pressable = [c for c in self.cards if draw.buttons_of(c.card) and not c.removed]
            shown = pressable[-1] if pressable else self.cards[-1]
        elif 1 <= int(number) <= len(self.cards):
            shown = self.cards[int(number) - 1]
        else:
            raise ChatError(f"there is no card {number} (cards 1 to {len(self.cards)})")
        if shown.removed:
            raise ChatError(f"card {shown.number} is no longer in the space")
        return shown


def _earlier(created: str) -> str:
    """A timestamp two seconds before `created`, so same-millisecond messages are not missed."""
    moment = datetime.strptime(created, "%Y-%m-%dT%H:%M:%S.%fZ") - timedelta(seconds=2)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@command("as", "/as NAME", "speak as another person (keeps a group space, else their 1:1)")
def _as(chat: Chat, name: str) -> None:
    if name not in chat.seed["people"]:
        raise ChatError(f"no such person: {name!r} (people: {', '.join(chat.seed['people'])})")
    chat.person = name
    if not chat.in_group:
        chat.room = DIRECT


@command("in", "/in SPACE", "move to a space: group, lobby, or direct (your 1:1 with the bot)")
def _in(chat: Chat, name: str) -> None:
    if name in ("", DIRECT, "bot", f"direct_{chat.person}"):
        chat.room = DIRECT
    elif name in chat.seed["rooms"]:
        chat.room = name
    else:
        raise ChatError(f"no such space: {name!r} (spaces: {', '.join(chat.seed['rooms'])})")


@command("who", "/who", "the people, their roles, and the spaces you are in")
def _who(chat: Chat, _: str) -> None:
    role_names = {v: k.removeprefix("id_").replace("_", " ") for k, v in chat.seed["roles"].items()}
    try:  # the names Webex gives them, as an administrator's client would read them
        roles = chat.client.call("GET", "/v1/roles", token=chat.seed["adminToken"])["items"]
        role_names.update({r["id"]: r["name"] for r in roles})
    except ChatError:
        pass
    lines = ["people:"]
    for name, person in chat.seed["people"].items():
        roles = ", ".join(role_names.get(r, r) for r in person["roles"]) or "no admin role"
        org = "" if person["orgId"] == chat.seed["orgId"] else f", {chat.seed['otherOrgName']}"
        lines.append(f"  {name:6} {person['displayName']} <{person['email']}> ({roles}{org})")
    memberships = chat.client.call("GET", "/v1/memberships", token=chat.token)["items"]
    lines.append(f"spaces {chat.person} is in:")
    for membership in memberships:
        name = chat.room_names.get(membership["roomId"], membership["roomId"])
        if name == f"direct_{chat.person}" or membership["roomId"] == chat.directs.get(chat.person):
            name = f"{DIRECT} (1:1 with {chat.seed['bot']['name']})"
        lines.append(f"  {name}")
    chat.console.show(*lines)


@command("setting", "/setting", "the organization's setting as Webex holds it")
def _setting(chat: Chat, _: str) -> None:
    chat.setting = chat.client.call("GET", "/_emulator/setting")
    chat.console.show("[webex] " + draw.setting_line(chat.seed["orgName"], chat.setting))


@command("controlhub", controlhub.USAGE, "change the setting yourself, as in Control Hub")
def _controlhub(chat: Chat, text: str) -> None:
    try:
        change = controlhub.parse(text)
    except ValueError as error:
        raise ChatError(str(error)) from None
    if change is None:
        _setting(chat, "")
        return
    where = "setting" if change.location is None else "location"
    body = {"admin": chat.person, **change.fields}
    if change.location is not None:
        body["location"] = change.location
    chat.client.call("POST", f"/_emulator/controlhub/{where}", body)
    chat.console.show(controlhub.said(chat.person, change))


@command(
    "press",
    "/press N|TITLE [on card K]",
    "press a button of the last card with buttons (or of card K)",
)
def _press(chat: Chat, spec: str) -> None:
    chat.press(spec)


@command("help", "/help", "this list")
def _help(chat: Chat, _: str) -> None:
    lines = [
        "Type to talk to the bot (in a group space the bot is mentioned for you).",
        "Try: help, status, enable ops@example.com, edit, disable, history, whoami.",
    ]
    lines.extend(f"  {usage:28} {about}" for _, usage, about in COMMANDS.values())
    chat.console.show(*lines)


@command("quit", "/quit", "leave the chat")
def _quit(chat: Chat, _: str) -> None:
    chat.stopping.set()


def chat_session(emulator: str, person: str = "alice", room: str | None = None) -> int:
    """Open the chat against an emulator's base URL; returns the exit status."""
    try:
        chat = Chat(EmulatorClient(emulator), person, room or DIRECT)
    except ChatError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return chat.run()


def run_chat(args: argparse.Namespace) -> int:
    """`python -m bot chat`."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started ignoring it
    try:
        return chat_session(args.emulator, args.person, args.room)
    except KeyboardInterrupt:
        return 0
