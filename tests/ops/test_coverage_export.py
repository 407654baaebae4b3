"""`python -m bot coverage` as an operator runs it, against the emulator."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

from bot.emulator import Emulator
from tests.procs import run_cli, wait_for

LIST = "/telephony/config/location[s]"  # the list alone (a glob, not a prefix)


async def test_csv_lists_every_calling_location_and_the_summary(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)
    status, out, err = await run_cli(emu, tmp_path, "coverage", "--format", "csv")
    assert status == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["location_name"], r["covered"], r["status"]) for r in rows] == [
        ("Headquarters", "false", "not covered"),
        ("Riverside Clinic", "true", "covered"),
        ("Northgate Urgent Care", "false", "not covered"),
        ("Lakeside Pharmacy", "false", "not covered"),
    ]
    riverside = rows[1]
    assert (riverside["email"], riverside["email_source"]) == (
        "riverside-desk@acme.example", "location")
    assert riverside["location_id"] == emu.places.find("Riverside Clinic")["id"]
    assert "1 of 4 locations covered" in err
    assert not emu.calls("PUT")


async def test_jsonl_to_a_file_says_when_the_list_is_incomplete(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.places.page_cap = 2
    emu.faults.latency(LIST, 0.3)

    async def break_the_second_page() -> None:
        await wait_for(lambda: emu.calls("GET", LIST), 20, "the first page")
        emu.faults.add(path=LIST, status=500, times=None)

    output = tmp_path / "coverage.jsonl"
    breaker = asyncio.create_task(break_the_second_page())
    status, out, err = await run_cli(emu, tmp_path, "coverage", "--format", "jsonl",
                                     "--output", str(output))
    await breaker
    assert status == 1, err
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [r["location_name"] for r in rows] == ["Headquarters", "Riverside Clinic"]
    assert rows[1]["own_email"] == "riverside-desk@acme.example"
    assert "0 of 2 locations covered; INCOMPLETE" in err and "EMU_" in err
    assert out == ""
