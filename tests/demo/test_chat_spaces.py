"""The terminal chat speaks only as a member of a space, and says who is a member where."""

from __future__ import annotations

import asyncio
import io

from bot.demo import render as draw
from bot.demo.chat import Chat, EmulatorClient
from bot.emulator import Emulator


async def open_chat(emu: Emulator, person: str, room: str) -> tuple[Chat, io.StringIO]:
    out = io.StringIO()
    chat = await asyncio.to_thread(
        Chat, EmulatorClient(emu.base_url), person, room, draw.Console(out))
    return chat, out


async def type_lines(chat: Chat, *lines: str) -> None:
    for line in lines:
        await asyncio.to_thread(chat.handle, line)


def posted_by(emu: Emulator, person: str) -> list[tuple[str, str]]:
    """(space, text) of every message `person` posted."""
    person_id = emu.seed.people[person].id
    names = {room_id: name for name, room_id in emu.seed.rooms.items()}
    return [(names.get(m["roomId"], "new 1:1"), m["text"])
            for m in emu.state.messages.values() if m["personId"] == person_id]


async def test_speaking_as_a_non_member_is_refused_with_who_is_in_the_space(
    emu: Emulator
) -> None:
    chat, out = await open_chat(emu, "sam", "direct")
    await type_lines(chat, "/in group", "status")

    shown = out.getvalue()
    assert "sam is not a member of group" in shown
    assert "members: alice, uma, rita, bob, eve, Kari Bot" in shown
    assert "404" not in shown
    assert chat.room == "direct"  # still 1:1: the status went to a 1:1 space with the bot
    assert posted_by(emu, "sam") == [("new 1:1", "status")]


async def test_switching_to_a_non_member_in_a_group_keeps_the_speaker(emu: Emulator) -> None:
    chat, out = await open_chat(emu, "alice", "group")
    await type_lines(chat, "/as sam")

    assert "sam is not a member of group" in out.getvalue()
    assert chat.person == "alice"


async def test_a_member_adds_the_person_and_then_they_speak_there(emu: Emulator) -> None:
    chat, out = await open_chat(emu, "alice", "group")
    await type_lines(chat, "/add sam", "/as sam", "status")

    assert "[webex] alice added sam to group" in out.getvalue()
    assert chat.person == "sam" and chat.room == "group"
    assert emu.state.is_member(emu.seed.people["sam"].id, emu.seed.rooms["group"])
    assert [(room, text.endswith(" status")) for room, text in posted_by(emu, "sam")] == [
        ("group", True)]


async def test_who_lists_the_members_of_each_group_space(emu: Emulator) -> None:
    chat, out = await open_chat(emu, "bob", "direct")
    await type_lines(chat, "/who")

    shown = out.getvalue()
    assert "group  alice, uma, rita, bob, eve, Kari Bot" in shown
    assert "lobby  alice, bob" in shown
