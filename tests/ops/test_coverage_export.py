"""`python -m bot coverage` as an operator runs it, against the emulator."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest

from bot.emulator import Emulator
from bot.store import Store
from tests.procs import run_cli, wait_for

LIST = "/telephony/config/location[s]"  # the list alone (a glob, not a prefix)


@pytest.fixture(autouse=True)
async def migrated(tmp_path: Path) -> None:
    """The database `serve` would have made (the export never creates one): DATABASE_URL's
    default, in the directory the command runs in."""
    await (await Store.open(f"sqlite:///{tmp_path / 'ecn-bot.db'}")).close()


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


async def test_without_a_database_it_is_one_line_and_exit_2(
    emu: Emulator, tmp_path: Path
) -> None:
    status, out, err = await run_cli(emu, tmp_path, "coverage",
                                     DATABASE_URL=f"sqlite:///{tmp_path / 'typo.db'}")
    assert status == 2 and out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("error: no database at") and "typo.db" in line
    assert not (tmp_path / "typo.db").exists() and not emu.calls("GET", LIST)


def everything_in(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


@pytest.mark.parametrize(("command", "expected"), [
    (("coverage",), 2),  # not 1, which says the list of locations is incomplete
    (("audit", "export"), 1),
])
async def test_an_output_that_cannot_be_written_is_one_line_and_nothing_is_left(
    emu: Emulator, tmp_path: Path, command: tuple[str, ...], expected: int
) -> None:
    missing = tmp_path / "nonexistent" / "x.csv"
    folder = tmp_path / "a-folder"
    folder.mkdir()
    for output, why in ((missing, "No such file or directory"), (folder, "Is a directory")):
        before = everything_in(tmp_path)
        status, out, err = await run_cli(emu, tmp_path, *command, "--format", "csv",
                                         "--output", str(output))
        assert (status, out) == (expected, ""), err
        assert err.strip().splitlines() == [f"error: cannot write {output}: {why}"]
        assert everything_in(tmp_path) == before  # no part of a file anywhere
