"""The chat's /controlhub: words to a Control Hub change, and what the emulator then holds."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest

from bot.demo import render as draw
from bot.demo.chat import Chat, EmulatorClient
from bot.demo.controlhub import Change, parse
from bot.emulator import Emulator

ON = "emergencyCallNotificationEnabled"
ALL = "allowEmailNotificationAllLocationEnabled"


@pytest.mark.parametrize(
    ("text", "change"),
    [
        ("", None),
        ("off", Change({ON: False})),
        ("ON", Change({ON: True})),
        ("on desk@acme.example", Change({ON: True, "emailAddress": "desk@acme.example"})),
        ("email desk@acme.example", Change({"emailAddress": "desk@acme.example"})),
        ("all-locations off", Change({ALL: False})),
        ("off at Main Clinic", Change({ON: False}, "Main Clinic")),
        (
            'email a@b.example at "North at Dock"',
            Change({"emailAddress": "a@b.example"}, "North at Dock"),
        ),
    ],
)
def test_words_become_one_change(text: str, change: Change | None) -> None:
    assert parse(text) == change


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("of", "unknown change"),
        ("off now", "nothing more"),
        ("on not-an-address", "not an email"),
        ("email", "one address"),
        ("all-locations maybe", "on or off"),
        ("off at", "which location"),
        ("at Main", "what to change"),
        ("all-locations on at Main", "organization setting"),
    ],
)
def test_words_it_does_not_understand_change_nothing(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse(text)


async def test_controlhub_changes_the_setting_as_the_person_and_refuses_others(
    emu: Emulator,
) -> None:
    out = io.StringIO()

    def session() -> dict[str, Any]:
        chat = Chat(EmulatorClient(emu.base_url), "alice", "direct", console=draw.Console(out))
        chat.handle("/controlhub on desk@acme.example")
        chat.handle("/controlhub off at riverside clinic")
        chat.handle("/as bob")
        chat.handle("/controlhub off")
        chat.handle("/controlhub sideways")
        return emu.setting()

    setting = await asyncio.to_thread(session)
    assert setting[ON] is True and setting["emailAddress"] == "desk@acme.example"
    shown = out.getvalue()
    assert "[control hub] alice set notifications on, email desk@acme.example" in shown
    assert "[webex] Webex answered 403: Bob Brown cannot change" in shown
    assert "[chat] unknown change 'sideways'" in shown
    assert "[control hub] alice set notifications off for location riverside clinic" in shown
    assert emu.places.find("Riverside Clinic")[ON] is False
    assert [e["data"]["actorEmail"] for e in emu.state.admin_events] == ["alice@acme.example"] * 2
