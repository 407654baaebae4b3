"""A resumed event in a group space looks for a reply it may have posted before among the bot's
own messages Webex told of; only a message carrying the reply's marker stops a post
(issue 14 item 9)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from bot.conversation import replies
from bot.conversation.replies import Replier, mark, reply_marker
from bot.errors import TransientWebexError, WebexError
from bot.models import Message
from bot.outbox import Outbox
from bot.store import Store
from bot.views.cards import notice_card

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@dataclass
class Place:
    """The request a reply serves: a command in a group space's thread, resumed."""

    outbox: Outbox
    event_key: str = "messages:CMD"
    org_id: str = "ORG"
    room_id: str = "GROUP"
    room_type: str = "group"
    thread_id: str | None = "CMD"
    message_id: str | None = "CMD"
    person_id: str = "ALICE"
    person_email: str | None = "alice@acme.example"
    source: str = "text"


@dataclass
class Webex:
    """The gateway as the replier uses it: messages by id, and what was posted."""

    messages: dict[str, Message | WebexError] = field(default_factory=dict)
    posted: list[str] = field(default_factory=list)

    async def get_message(self, message_id: str) -> Message:
        found = self.messages.get(message_id) or WebexError("gone", status=404)
        if isinstance(found, WebexError):
            raise found
        return found

    async def post_message(self, room_id: str, markdown: str, **_: Any) -> str:
        self.posted.append(markdown)
        return f"NEW{len(self.posted)}"


def own(message_id: str, marker: str | None) -> Message:
    card = notice_card(title="Setting changed", text="…")
    attachments = mark(card, marker).attachments() if marker else card.attachments()
    return Message(id=message_id, roomId="GROUP", personId="BOT", parentId="CMD",
                   attachments=tuple(attachments))


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    opened = await Store.open(f"sqlite:///{tmp_path}/bot.db")
    yield opened
    await opened.close()


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replies, "OWN_NOTICE_WAIT_SECONDS", 0.0)


async def send(store: Store, webex: Webex) -> str | None:
    replier = Replier(cast(Any, webex), store, timeout=5.0)
    place = Place(Outbox(resumed=True, since=T0))
    return await replier.send(cast(Any, place), notice_card(title="Setting changed", text="…"))


async def test_a_reply_found_among_its_own_messages_is_not_posted_again(store: Store) -> None:
    webex = Webex({"OTHER": own("OTHER", reply_marker("messages:EARLIER", "reply1")),
                   "MINE": own("MINE", reply_marker("messages:CMD", "reply1"))})
    for message_id in ("OTHER", "MINE"):
        await store.record_own_message(message_id, "GROUP", "CMD", T0 + timedelta(seconds=1))

    assert await send(store, webex) == "MINE"
    assert webex.posted == []
    assert await store.get_event_steps("messages:CMD") == {"reply1": {"message_id": "MINE"}}


@pytest.mark.parametrize("kept", [
    [],  # Webex's notice never arrived
    [("PLAIN", "CMD", 1)],  # an own message without this reply's marker
    [("GONE", "CMD", 1)],  # one Webex no longer gives
    [("ELSEWHERE", "OTHER-THREAD", 1)],  # the marker, but in another thread
    [("BEFORE", "CMD", -600)],  # the marker, but older than the event
])
async def test_without_the_marker_found_the_reply_is_posted(
    store: Store, kept: list[tuple[str, str, int]]
) -> None:
    marker = reply_marker("messages:CMD", "reply1")
    webex = Webex({"PLAIN": own("PLAIN", None), "ELSEWHERE": own("ELSEWHERE", marker),
                   "BEFORE": own("BEFORE", marker)})
    for message_id, parent, seconds in kept:
        await store.record_own_message(message_id, "GROUP", parent,
                                       T0 + timedelta(seconds=seconds))

    assert await send(store, webex) == "NEW1"
    assert len(webex.posted) == 1


async def test_an_own_message_webex_cannot_give_now_is_retried_later_not_posted(
    store: Store,
) -> None:
    webex = Webex({"MINE": TransientWebexError("busy", status=503)})
    await store.record_own_message("MINE", "GROUP", "CMD", T0)

    with pytest.raises(replies.RetryLater):
        await send(store, webex)
    assert webex.posted == []
