"""`history` and `audit export` show exactly what happened: applied, refused, failed."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.emulator import Emulator
from tests.e2e.harness import RunningBot
from tests.e2e.helpers import card_text, puts, say
from tests.procs import run_cli

SETTING = "/telephony/config/emergencyCallNotification"


def email(emu: Emulator, person: str) -> str:
    return emu.seed.people[person].email


@pytest.fixture
async def happened(emu: Emulator, bot: RunningBot) -> dict[str, Any]:
    """Five attempts, oldest first; returns what a reader must find, and the tracking id."""
    await say(emu, "alice", "direct_alice", "enable ops@example.com")
    await say(emu, "bob", "direct_bob", "enable bob@example.com")
    await say(emu, "rita", "direct_rita", "set email rita@example.com")
    await say(emu, "alice", "direct_alice", "set email not-an-email")
    emu.faults.add(method="PUT", path=SETTING, status=400, times=1)
    failed = card_text(await say(emu, "alice", "direct_alice", "set email fail@example.com"))
    found = re.search(r"tracking ID:? (EMU_\S+)", failed)
    assert found, failed
    await bot.idle()
    assert len(puts(emu)) == 1
    return {
        "tracking_id": found.group(1).rstrip(".)"),
        # (who, action, outcome), oldest first
        "rows": [
            (email(emu, "alice"), "enable", "applied"),
            (email(emu, "bob"), "enable", "refused"),
            (email(emu, "rita"), "set email", "refused"),
            (email(emu, "alice"), "set email", "refused"),
            (email(emu, "alice"), "set email", "failed"),
        ],
    }


def positions(text: str, needles: list[str]) -> list[int]:
    found = [text.find(n) for n in needles]
    assert -1 not in found, (needles, text)
    return found


LINE = re.compile(r"^- .+ · (?P<who>\S+) via \w+: (?P<action>.+?) \((?P<outcome>\w+)\)")


def listed(text: str) -> list[tuple[str, str, str]]:
    """(who, action, outcome) of each line of a history reply's text fallback, in order."""
    return [
        (m["who"].replace("\\", ""), m["action"], m["outcome"])
        for m in map(LINE.match, text.splitlines())
        if m
    ]


async def test_history_lists_every_attempt_newest_first_with_who_outcome_and_reason(
    emu: Emulator, happened: dict[str, Any]
) -> None:
    reply = await say(emu, "alice", "direct_alice", "history")

    assert "5 entries" in card_text(reply)
    assert listed(card_text(reply)) == happened["rows"][::-1]
    # The reasons and the tracking id are on the card itself, in the same newest-first order.
    on_card = card_text({**reply, "markdown": ""})
    order = positions(
        on_card,
        [
            happened["tracking_id"],
            "is not an address I can use",
            "you have Read-only Administrator",
            "you have no administrator role",
            "Off → On",
        ],
    )
    assert order == sorted(order), on_card


async def test_history_n_shows_the_last_n(emu: Emulator, happened: dict[str, Any]) -> None:
    text = card_text(await say(emu, "alice", "direct_alice", "history 2"))

    assert f"the latest 2 of {len(happened['rows'])} entries" in text
    assert listed(text) == happened["rows"][:-3:-1]
    assert happened["tracking_id"] in text
    assert "Read-only Administrator" not in text


async def test_a_read_only_admin_may_read_history_and_a_user_may_not(
    emu: Emulator, happened: dict[str, Any]
) -> None:
    assert "5 entries" in card_text(await say(emu, "rita", "direct_rita", "history"))

    refused = card_text(await say(emu, "bob", "direct_bob", "history"))
    assert "Not allowed" in refused
    assert "entries" not in refused and "ops@example.com" not in refused


async def export(emu: Emulator, tmp_path: Path, bot: RunningBot, *args: str) -> str:
    status, out, err = await run_cli(
        emu, tmp_path, "audit", "export", *args, DATABASE_URL=bot.settings.DATABASE_URL
    )
    assert status == 0, err
    return out


async def test_export_as_csv_and_jsonl_holds_exactly_those_rows(
    emu: Emulator, tmp_path: Path, bot: RunningBot, happened: dict[str, Any]
) -> None:
    jsonl = [
        json.loads(line)
        for line in (await export(emu, tmp_path, bot, "--format", "jsonl")).splitlines()
    ]
    table = list(csv.DictReader(io.StringIO(await export(emu, tmp_path, bot, "--format", "csv"))))

    for rows in (jsonl, table):
        assert [(r["person_email"], r["action"], r["outcome"]) for r in rows] == happened["rows"]
        reasons = [r["reason"] or "" for r in rows]
        assert reasons[0] == ""
        assert "you have no administrator role" in reasons[1]
        assert "you have Read-only Administrator" in reasons[2]
        assert "is not an address I can use" in reasons[3]
        assert reasons[4] == "The request was invalid or cannot be otherwise served."
        assert [r["tracking_id"] or "" for r in rows] == ["", "", "", "", happened["tracking_id"]]
        assert {(r["target_type"], r["target_id"], r["target_name"] or "") for r in rows} == {
            ("organization", emu.seed.org_id, "")}
    assert jsonl[0]["before"]["emergencyCallNotificationEnabled"] is False
    assert jsonl[0]["after"] == {
        "emergencyCallNotificationEnabled": True,
        "allowEmailNotificationAllLocationEnabled": False,
        "emailAddress": "ops@example.com",
    }
    assert json.loads(table[0]["after"]) == jsonl[0]["after"]
    assert jsonl[4]["after"]["emailAddress"] == "fail@example.com"  # what was attempted
    assert emu.setting()["emailAddress"] == "ops@example.com"  # …and not made


async def test_export_since_a_future_date_is_empty_and_output_writes_a_file(
    emu: Emulator, tmp_path: Path, bot: RunningBot, happened: dict[str, Any]
) -> None:
    assert await export(emu, tmp_path, bot, "--format", "jsonl", "--since", "2999-01-01") == ""
    only_header = await export(emu, tmp_path, bot, "--format", "csv", "--since", "2999-01-01")
    assert list(csv.DictReader(io.StringIO(only_header))) == []

    target = tmp_path / "audit.csv"
    assert await export(emu, tmp_path, bot, "--format", "csv", "--output", str(target)) == ""
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [(r["action"], r["outcome"]) for r in rows] == [(a, o) for _, a, o in happened["rows"]]


async def test_history_takes_what_its_card_shows(emu: Emulator, happened: dict[str, Any]) -> None:
    shown = card_text(await say(emu, "alice", "direct_alice", "history 20"))
    refused = card_text(await say(emu, "alice", "direct_alice", "history 21"))

    assert f"History: {len(happened['rows'])} entries." in shown
    assert "not a number from 1 to 20" in refused and "`history [n] [at <location>]`" in refused


async def test_an_enable_that_changes_nothing_is_unchanged_in_history_and_export(
    emu: Emulator, tmp_path: Path, bot: RunningBot
) -> None:
    await say(emu, "alice", "direct_alice", "enable ops@example.com")
    reply = await say(emu, "alice", "direct_alice", "enable")
    assert "Nothing to change" in card_text(reply)
    await bot.idle()
    assert len(puts(emu)) == 1  # the second enable wrote nothing

    alice = email(emu, "alice")
    shown = card_text(await say(emu, "alice", "direct_alice", "history"))
    assert listed(shown) == [(alice, "enable", "unchanged"), (alice, "enable", "applied")]
    for rows in (
        [json.loads(line) for line in
         (await export(emu, tmp_path, bot, "--format", "jsonl")).splitlines()],
        list(csv.DictReader(io.StringIO(await export(emu, tmp_path, bot, "--format", "csv")))),
    ):
        assert [(r["action"], r["outcome"]) for r in rows] == [
            ("enable", "applied"), ("enable", "unchanged")]
        assert rows[1]["before"] == rows[1]["after"]


async def test_a_location_change_that_changes_nothing_is_unchanged_in_history(
    emu: Emulator, tmp_path: Path, bot: RunningBot
) -> None:
    asked = "enable desk@acme.example at Riverside Clinic"
    await say(emu, "alice", "direct_alice", asked)
    reply = await say(emu, "alice", "direct_alice", asked)
    assert "Nothing to change — Riverside Clinic" in card_text(reply)
    await bot.idle()

    shown = card_text(await say(emu, "alice", "direct_alice", "history at Riverside Clinic"))
    alice = email(emu, "alice")
    assert listed(shown) == [(alice, "enable at Riverside Clinic", "unchanged"),
                             (alice, "enable at Riverside Clinic", "applied")]
    rows = [json.loads(line) for line in
            (await export(emu, tmp_path, bot, "--format", "jsonl")).splitlines()]
    assert [r["outcome"] for r in rows] == ["applied", "unchanged"]
