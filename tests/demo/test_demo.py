"""`python -m bot demo` driven as a person would, in a real terminal, from start to Ctrl-C."""

from __future__ import annotations

import os
import re
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

ROOT = Path(__file__).resolve().parents[2]
WAIT = 10  # seconds for anything the bot or the emulator should do
SETTING = "[webex] Acme Health emergency call notifications: "


@pytest.fixture
def demo() -> Iterator[pexpect.spawn]:
    env = {**os.environ, "TERM": "xterm", "LOG_LEVEL": "WARNING"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "bot", "demo"],
        cwd=str(ROOT),
        env=env,
        encoding="utf-8",
        timeout=WAIT,
        dimensions=(50, 200),
    )
    try:
        yield child
    finally:
        if child.isalive():
            child.terminate(force=True)


def expect_all(child: pexpect.spawn, *texts: str) -> None:
    """Wait until every text has appeared, in any order (replies and setting lines race)."""
    remaining = list(texts)
    while remaining:
        found = child.expect_exact(remaining)
        remaining.pop(found)


def type_line(child: pexpect.spawn, prompt: str, line: str) -> None:
    child.expect_exact(prompt)
    child.sendline(line)


def stop_with_ctrl_c(child: pexpect.spawn) -> None:
    """Press Ctrl-C; press it again if it was not noticed (see below), as a person would."""
    started = time.monotonic()
    child.sendintr()
    # Python's input() can miss a signal that lands in the microseconds between drawing the
    # prompt and waiting for a key; a second press is then seen. Never more than two.
    if child.expect_exact(["Stopping the bot", pexpect.TIMEOUT], timeout=3) == 1:
        child.sendintr()
        child.expect_exact("Stopping the bot")
    child.expect_exact("Stopped.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert time.monotonic() - started < 5


def test_admin_changes_the_setting_and_others_are_refused(demo: pexpect.spawn) -> None:
    child = demo
    child.expect_exact("Webex emulator  http://127.0.0.1:")
    child.expect(r"bot database\s+(\S+)")
    database = Path(child.match.group(1))
    assert database.exists()
    child.expect_exact("Stop with Ctrl-C or /quit.")
    type_line(child, "alice@direct> ", "enable ops@example.com")
    expect_all(child, "Setting changed", SETTING + "ON → ops@example.com (all locations: off)")
    type_line(child, "alice@direct> ", "/setting")
    child.expect_exact(SETTING + "ON → ops@example.com")

    # the demo organization's locations: a gap shows, by name
    type_line(child, "alice@direct> ", "coverage")
    expect_all(child, "1 of 4 locations covered", "Lakeside Pharmacy")

    # a regular user is refused and nothing changes
    type_line(child, "alice@direct> ", "/as bob")
    type_line(child, "bob@direct> ", "enable evil@example.com")
    child.expect_exact("Not allowed")
    type_line(child, "bob@direct> ", "/setting")
    child.expect_exact(SETTING + "ON → ops@example.com")

    # a person not in a space cannot go there: the chat says who is, and how to add them
    type_line(child, "bob@direct> ", "/as rita")
    type_line(child, "rita@direct> ", "/in lobby")
    child.expect_exact("[chat] rita is not a member of lobby")
    child.expect_exact("(members: alice, bob). A member can add them with /add rita")

    # the edit form, filled in the terminal and saved
    type_line(child, "rita@direct> ", "/as alice")
    type_line(child, "alice@direct> ", "edit")
    child.expect_exact("[1] Save  [2] Cancel")
    type_line(child, "alice@direct> ", "/press Save")
    type_line(child, "Emergency call notifications: [on]", "")
    type_line(child, "Notification email address: [ops@example.com] > ", "desk@example.com")
    type_line(child, "Send the notification email for all locations > ", "")
    expect_all(
        child,
        "│ Notification email | ops@example.com | desk@example.com",
        SETTING + "ON → desk@example.com (all locations: off)",
    )

    # disable asks for confirmation; only the person who asked may confirm
    type_line(child, "alice@direct> ", "/in group")
    type_line(child, "alice@group @Kari> ", "disable")
    child.expect(
        r"card (\d+) ─+\r\n│ Emergency call notifications — Acme Health\r\n"
        r"│ Turn off emergency call notifications\?"
    )
    card = child.match.group(1)
    child.expect_exact("[1] Turn off notifications  [2] Keep them on")
    type_line(child, "alice@group @Kari> ", "/as uma")
    type_line(child, "uma@group @Kari> ", "/press 1")
    child.expect_exact(f"uma pressed 'Turn off notifications' on card {card}")
    child.expect_exact("Only the person who asked for this card can confirm it.")
    type_line(child, "uma@group @Kari> ", "/setting")
    child.expect_exact(SETTING + "ON → desk@example.com")
    type_line(child, "uma@group @Kari> ", "/as alice")
    type_line(child, "alice@group @Kari> ", f"/press 1 on card {card}")
    expect_all(
        child,
        f"alice pressed 'Turn off notifications' on card {card}",
        SETTING + "OFF (email: desk@example.com",
    )
    type_line(child, "alice@group @Kari> ", "/setting")
    child.expect_exact(SETTING + "OFF")

    child.expect_exact("alice@group @Kari> ")
    stop_with_ctrl_c(child)
    assert not database.exists()


def test_no_chat_runs_until_ctrl_c() -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "bot", "demo", "--no-chat"],
        cwd=str(ROOT),
        encoding="utf-8",
        timeout=WAIT,
    )
    try:
        child.expect(r"bot\s+(http://127\.0\.0\.1:\d+)")
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", child.match.group(1))
        child.expect(r"bot ops\s+(http://127\.0\.0\.1:\d+)/readyz and /metrics")
        ops = child.match.group(1)
        for path in ("/readyz", "/metrics"):  # the printed address is where they answer
            # the URL is the one just matched: http://127.0.0.1:PORT, never another scheme
            with urllib.request.urlopen(ops + path, timeout=WAIT) as reply:  # noqa: S310
                assert reply.status == 200, path
        child.expect_exact("Stop with Ctrl-C.")
        stop_with_ctrl_c(child)
    finally:
        if child.isalive():
            child.terminate(force=True)


def test_a_control_hub_change_shows_up_as_an_alert_in_the_group_space(
    demo: pexpect.spawn,
) -> None:
    child = demo
    child.expect_exact("Stop with Ctrl-C or /quit.")
    type_line(child, "alice@direct> ", "/in group")
    type_line(child, "alice@group @Kari> ", "/controlhub on desk@acme.example")
    child.expect_exact("[control hub] alice set notifications on, email desk@acme.example")
    # Control Hub tells the bot nothing: the watch finds it at its next check (every 10 s).
    child.expect_exact("Notice: coverage restored", timeout=30)
    type_line(child, "alice@group @Kari> ", "/controlhub off")
    child.expect_exact("Alert: emergency call notifications turned off", timeout=30)
    child.expect_exact("Alice Adams (alice@acme.example), outside this bot")
    child.expect_exact("[1] Restore")
    stop_with_ctrl_c(child)
