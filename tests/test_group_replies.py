"""A resumed event in a group space looks for a reply it may have posted before among the bot's
own messages Webex told of; only a message carrying the reply's marker stops a post
(issue 14 item 9). Against the emulator: what the space holds is what Webex holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest

from bot.conversation.replies import Replier, RetryLater, mark, reply_marker
from bot.emulator import Emulator
from bot.outbox import Outbox
from bot.store import Store
from bot.views.cards import notice_card
from bot.webex.gateway import WebexGateway
from bot.webex.rest import WebexRest
from bot.webex.retry import RetryPolicy
from tests.e2e.helpers import bot_messages


@dataclass
class Place:
    """The request a reply serves: a command in a group space's thread, resumed."""

    outbox: Outbox
    event_key: str
    room_id: str
    thread_id: str
    message_id: str
    org_id: str = "ORG"
    room_type: str = "group"
    person_id: str = "ALICE"
    person_email: str | None = "alice@acme.example"
    source: str = "text"


@dataclass
class Rig:
    emu: Emulator
    store: Store
    gateway: WebexGateway
    room: str
    command: str  # the command's message id: the reply's thread
    since: datetime  # when its event arrived

    @property
    def key(self) -> str:
        return f"messages:{self.command}"

    async def posted_before(self, *, marker: str | None, thread: str | None = None) -> str:
        """A card the bot posted in the space (with `marker`, as a reply of an earlier
        attempt would carry it): its id."""
        card = notice_card(title="Setting changed", text="…")
        reply = mark(card, marker) if marker else card
        return await self.gateway.post_message(self.room, reply.markdown,
                                               attachments=reply.attachments(),
                                               parent_id=thread or self.command)

    async def send(self) -> str | None:
        """The resumed event's reply, as the replier sends it."""
        replier = Replier(self.gateway, self.store, timeout=5.0, notice_wait=0.0)
        place = Place(Outbox(resumed=True, since=self.since), self.key, self.room,
                      self.command, self.command)
        return await replier.send(cast(Any, place),
                                  notice_card(title="Setting changed", text="…"))


@pytest.fixture
async def rig(emu: Emulator, tmp_path: Path) -> AsyncIterator[Rig]:
    store = await Store.open(f"sqlite:///{tmp_path}/bot.db")
    command = await emu.post_message("alice", "group", "enable", mention_bot=True)
    async with aiohttp.ClientSession() as session:
        gateway = WebexGateway(emu.seed.bot_token, None, rest=WebexRest(session, emu.base_url),
                               policy=RetryPolicy(max_retries=1, base_delay=0.01))
        yield Rig(emu, store, gateway, emu.seed.rooms["group"], command["id"],
                  datetime.now(UTC))
        gateway.close()
    await store.close()


async def test_a_reply_found_among_its_own_messages_is_not_posted_again(rig: Rig) -> None:
    other = await rig.posted_before(marker=reply_marker("messages:EARLIER", "reply1"))
    mine = await rig.posted_before(marker=reply_marker(rig.key, "reply1"))
    for message_id in (other, mine):
        await rig.store.record_own_message(message_id, rig.room, rig.command, rig.since)

    assert await rig.send() == mine
    assert len(bot_messages(rig.emu, rig.room)) == 2  # nothing posted again
    assert await rig.store.get_event_steps(rig.key) == {"reply1": {"message_id": mine}}


@pytest.mark.parametrize("kept", [
    "none",  # Webex's notice never arrived
    "plain",  # an own message without this reply's marker
    "gone",  # one Webex no longer gives
    "elsewhere",  # the marker, but in another thread
    "before",  # the marker, but older than the event
])
async def test_without_the_marker_found_the_reply_is_posted(rig: Rig, kept: str) -> None:
    marker = reply_marker(rig.key, "reply1")
    at, thread = rig.since, rig.command
    if kept == "plain":
        message_id = await rig.posted_before(marker=None)
    elif kept == "gone":
        message_id = "Y2lzY29zcGFyazovL3VzL01FU1NBR0UvZ29uZQ"
    elif kept == "elsewhere":
        thread = (await rig.emu.post_message("alice", "group", "status", mention_bot=True))["id"]
        message_id = await rig.posted_before(marker=marker, thread=thread)
    elif kept == "before":
        message_id, at = await rig.posted_before(marker=marker), rig.since - timedelta(hours=1)
    if kept != "none":
        await rig.store.record_own_message(message_id, rig.room, thread, at)
    before = {m["id"] for m in bot_messages(rig.emu, rig.room)}

    new = await rig.send()
    after = {m["id"] for m in bot_messages(rig.emu, rig.room)}
    assert after - before == {new}  # posted, once


async def test_an_own_message_webex_cannot_give_now_is_retried_later_not_posted(
    rig: Rig,
) -> None:
    mine = await rig.posted_before(marker=reply_marker(rig.key, "reply1"))
    await rig.store.record_own_message(mine, rig.room, rig.command, rig.since)
    rig.emu.faults.add(path="/messages/*", method="GET", status=503, times=None)

    with pytest.raises(RetryLater):
        await rig.send()
    assert len(bot_messages(rig.emu, rig.room)) == 1  # only the earlier one
