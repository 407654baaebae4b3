"""A location as the target of the setting commands, end to end through the real server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.emulator import Emulator, Seed, running_emulator
from tests.e2e.harness import RunningBot, running_bot
from tests.e2e.helpers import card_text, counted, say
from tests.e2e.test_cards import press

LOCATION_PUT = "/telephony/config/locations/*/emergencyCallNotification"


def location_puts(emu: Emulator) -> list[tuple[str, Any]]:
    return [(r.path.split("/")[4], r.json) for r in emu.calls("PUT", LOCATION_PUT)]


def lid(emu: Emulator, name: str) -> str:
    return str(emu.places.find(name)["id"])


async def test_enable_at_a_location_sends_exactly_its_two_fields(
    emu: Emulator, bot: RunningBot
) -> None:
    reply = await say(emu, "alice", "direct_alice", "enable hq-desk@acme.example at headquarters")
    assert location_puts(emu) == [(lid(emu, "Headquarters"), {
        "emergencyCallNotificationEnabled": True, "emailAddress": "hq-desk@acme.example"})]
    assert not emu.calls("PUT", "/telephony/config/emergencyCallNotification")
    text = card_text(reply)
    assert "Headquarters" in text and "Off → **On**" in text and "hq-desk@acme.example" in text
    [row] = await bot.store.list_audit(emu.seed.org_id, target_id=lid(emu, "Headquarters"))
    assert (row.action, row.outcome, row.target_type, row.target_name) == (
        "enable", "applied", "location", "Headquarters")


@pytest.mark.parametrize(("typed", "name"), [
    ("set email a@acme.example at RIVERSIDE", "Riverside Clinic"),  # a unique prefix
    ('set email a@acme.example at "Lakeside Pharmacy"', "Lakeside Pharmacy"),
    ("set email a@acme.example at  northgate urgent care ", "Northgate Urgent Care"),
])
async def test_names_match_case_insensitively_by_whole_name_or_unique_prefix(
    emu: Emulator, bot: RunningBot, typed: str, name: str
) -> None:
    await say(emu, "uma", "direct_uma", typed)
    assert location_puts(emu) == [(lid(emu, name), {
        "emergencyCallNotificationEnabled": emu.places.find(name)[
            "emergencyCallNotificationEnabled"], "emailAddress": "a@acme.example"})]


@pytest.mark.parametrize(("typed", "offered"), [
    ("status at Riverbank", "Riverside Clinic"),
    ("enable x@acme.example at Warehouse", ""),  # no Webex Calling: not a calling location
    ("enable x@acme.example at " + "Ü" * 256, ""),
    ("disable at", "Name the location"),
])
async def test_an_unknown_name_changes_nothing_and_offers_the_closest(
    emu: Emulator, bot: RunningBot, typed: str, offered: str
) -> None:
    text = card_text(await say(emu, "alice", "direct_alice", typed))
    assert "Which location?" in text and offered in text
    assert location_puts(emu) == []
    if typed.startswith("status"):
        return  # a read: nothing to audit
    # The refused attempt is audited with the name that was asked for (as far as it fits).
    [row] = await bot.store.list_audit(emu.seed.org_id)
    asked = typed.split(" at", 1)[1].strip()
    if not asked:  # no name at all: a location's row naming none, not the organization's
        assert (row.outcome, row.target_type, row.target_id, row.target_name) == (
            "refused", "location", None, None)
        shown = card_text(await say(emu, "alice", "direct_alice", "history"))
        assert "disable at no location named" in shown
        assert "Name the location" in (row.reason or "")
        return
    assert (row.outcome, row.target_type, row.target_id, row.target_name) == (
        "refused", "location", None, asked[:255])


async def test_a_name_that_names_no_location_counts_the_command_as_refused(
    emu: Emulator, bot: RunningBot
) -> None:
    for typed in ("enable hq@acme.example at Headquarters please",
                  "disable at Riverside Clinic now", "status at Riverbank"):
        assert "Which location?" in card_text(await say(emu, "alice", "direct_alice", typed))
    await say(emu, "alice", "direct_alice", "enable hq@acme.example at Headquarters")
    await bot.idle()

    commands = await counted(bot, "ecn_bot_commands_total")

    def command(name: str, outcome: str) -> float:
        return commands.get((("command", name), ("outcome", outcome)), 0.0)
    assert (command("enable", "refused"), command("enable", "ok")) == (1, 1)
    assert (command("disable", "refused"), command("disable", "ok")) == (1, 0)
    assert (command("status", "refused"), command("status", "ok")) == (1, 0)
    # …as the changes they asked for are counted
    changes = await counted(bot, "ecn_bot_changes_total")
    assert changes[(("action", "disable"), ("outcome", "refused"))] == 1
    assert changes[(("action", "enable"), ("outcome", "refused"))] == 1


async def test_an_ambiguous_prefix_lists_the_names_it_fits(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.places.set("Lakeside Pharmacy", name="Headquarters Annex")
    text = card_text(await say(emu, "alice", "direct_alice", "enable x@acme.example at head"))
    assert "fits more than one location" in text
    assert "Headquarters" in text and "Headquarters Annex" in text
    assert location_puts(emu) == []
    # the whole name still names exactly one
    await say(emu, "alice", "direct_alice", "enable x@acme.example at headquarters")
    assert [p for p, _ in location_puts(emu)] == [lid(emu, "Headquarters")]


async def test_an_ambiguous_prefix_says_how_many_names_it_fits_beyond_those_shown(
    tmp_path: Path,
) -> None:
    async with running_emulator(Seed.default().with_locations(12)) as emu, \
            running_bot(emu, tmp_path):
        text = card_text(await say(emu, "alice", "direct_alice", "status at Site 00"))
    shown = ", ".join(f"“Site {n:04d}”" for n in range(1, 6))
    assert (f"“Site 00” fits more than one location: {shown} and 7 more (12 in all). Say the "
            "whole name.") in text


async def test_a_location_without_webex_calling_is_said_to_have_no_setting(
    emu: Emulator, bot: RunningBot
) -> None:
    text = card_text(await say(emu, "alice", "direct_alice", "enable x@acme.example at warehouse"))
    assert ("A location called “Warehouse” exists, but it is not enabled for Webex Calling, so "
            "it has no emergency call notification setting.") in text
    assert location_puts(emu) == []
    [listed] = emu.calls("GET", "/locations")  # read only for a name no Calling location has
    assert listed.query["name"] == "warehouse"
    await say(emu, "alice", "direct_alice", "status at Headquarters")
    assert len(emu.calls("GET", "/locations")) == 1


async def test_when_every_location_cannot_be_listed_the_reply_is_the_plain_one(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.faults.add(method="GET", path="/locations", status=403, times=None)
    text = card_text(await say(emu, "alice", "direct_alice", "status at warehouse"))
    assert "No Webex Calling location is called “warehouse”." in text


async def test_status_at_a_location_says_whether_it_is_covered(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)
    text = card_text(await say(emu, "rita", "direct_rita", "status at Riverside Clinic"))
    assert "Covered" in text and "riverside-desk@acme.example" in text
    text = card_text(await say(emu, "rita", "direct_rita", "status at northgate"))
    assert "Not covered: on without an address" in text


@pytest.mark.parametrize(("who", "allowed"), [
    ("alice", True), ("uma", True), ("rita", False), ("bob", False), ("lou", False)])
async def test_location_changes_by_role(
    emu: Emulator, bot: RunningBot, who: str, allowed: bool
) -> None:
    text = card_text(await say(emu, who, f"direct_{who}",
                               "set email new@acme.example at Riverside Clinic"))
    assert bool(location_puts(emu)) is allowed
    if who == "lou":  # a location administrator of Riverside: refused, told who can help
        assert "Location Administrator" in text and "Full or User Administrator" in text
    rows = await bot.store.list_audit(emu.seed.org_id)
    assert [r.outcome for r in rows] == ["applied" if allowed else "refused"]


async def test_disable_at_a_location_confirms_and_says_what_is_left(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True,
                    allowEmailNotificationAllLocationEnabled=True)
    card = await say(emu, "alice", "direct_alice", "disable at Riverside Clinic")
    text = card_text(card)
    assert "notify only through the organization-wide address, security@acme.example" in text
    assert location_puts(emu) == []
    answer = await press(emu, "alice", card, "Turn off notifications")
    assert location_puts(emu) == [(lid(emu, "Riverside Clinic"), {
        "emergencyCallNotificationEnabled": False,
        "emailAddress": "riverside-desk@acme.example"})]
    assert "On → **Off**" in card_text(answer)


async def test_disable_at_a_location_says_when_nothing_is_left(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)  # all-locations off
    text = card_text(await say(emu, "alice", "direct_alice", "disable at Riverside Clinic"))
    assert "send no email notification at all" in text


async def test_edit_at_a_location_is_refused_when_stale(emu: Emulator, bot: RunningBot) -> None:
    form = await say(emu, "alice", "direct_alice", "edit at Lakeside Pharmacy")
    assert "Lakeside Pharmacy" in card_text(form)
    emu.places.set("Lakeside Pharmacy", emergencyCallNotificationEnabled=True,
                   emailAddress="someone@acme.example")  # changed in Control Hub meanwhile
    answer = await press(emu, "alice", form, "Save", enabled="true", email="mine@acme.example")
    assert "changed" in card_text(answer) and location_puts(emu) == []
    again = await emu.wait_for_message(
        lambda m: bool(m.get("attachments")) and m["id"] not in (form["id"], answer["id"])
        and m["personId"] == emu.seed.bot_id)
    assert "someone@acme.example" in card_text(again)  # a fresh form with what is there now
    fresh = await press(emu, "alice", again, "Save", enabled="true", email="mine@acme.example")
    assert location_puts(emu) == [(lid(emu, "Lakeside Pharmacy"), {
        "emergencyCallNotificationEnabled": True, "emailAddress": "mine@acme.example"})]
    assert "mine@acme.example" in card_text(fresh)


async def test_two_locations_change_at_once_and_one_location_loses_nothing(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.faults.latency(LOCATION_PUT, 0.3)
    await asyncio.gather(
        say(emu, "alice", "direct_alice", "set email a@acme.example at Headquarters"),
        say(emu, "uma", "direct_uma", "set email u@acme.example at Lakeside Pharmacy"),
    )
    puts = emu.calls("PUT", LOCATION_PUT)
    assert len(puts) == 2
    assert puts[0].arrived < puts[1].at and puts[1].arrived < puts[0].at  # overlapped
    emu.reset()
    emu.places.set("Headquarters", emailAddress="hq@acme.example")
    emu.faults.latency(LOCATION_PUT, 0.2)
    await asyncio.gather(
        say(emu, "alice", "direct_alice", "enable at Headquarters"),
        say(emu, "uma", "direct_uma", "set email new@acme.example at Headquarters"),
    )
    first, second = emu.calls("PUT", LOCATION_PUT)
    assert first.at <= second.arrived  # one after the other: the second read the first's write
    place = emu.places.find("Headquarters")
    assert (place["emergencyCallNotificationEnabled"], place["emailAddress"]) == (
        True, "new@acme.example")  # both changes kept


async def test_history_shows_the_target_and_filters_by_location(
    emu: Emulator, bot: RunningBot
) -> None:
    await say(emu, "alice", "direct_alice", "set email one@acme.example at Riverside Clinic")
    await say(emu, "alice", "direct_alice", "set email org@acme.example")
    await say(emu, "bob", "direct_bob", "set email two@acme.example at Lakeside Pharmacy")
    everything = card_text(await say(emu, "alice", "direct_alice", "history"))
    assert "set email at Riverside Clinic" in everything
    assert "set email at Lakeside Pharmacy" in everything  # the refused attempt too
    one = card_text(await say(emu, "alice", "direct_alice", "history 5 at riverside"))
    assert "set email at Riverside Clinic" in one and "Acme Health · Riverside Clinic" in one
    assert "Lakeside" not in one and "org@acme.example" not in one
    text = card_text(await say(emu, "alice", "direct_alice", "history at Nowhere"))
    assert "Which location?" in text
