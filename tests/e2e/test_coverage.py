"""`coverage` end to end: the real server, the emulator over real sockets, what the space shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.emulator import Emulator, Seed, running_emulator
from tests.e2e.harness import RunningBot, running_bot
from tests.e2e.helpers import bot_messages, card_of, card_text, next_bot_message, puts, say
from tests.e2e.signing import ECN, admin_bot, browser, sign_in_settings, signed_in
from tests.procs import free_port

__all__ = ["admin_bot", "browser"]  # fixtures
READS = "/telephony/config/locations/*/emergencyCallNotification"
LIST = "/telephony/config/locations"
LIMITED = "(of the locations your Webex sign-in can see)"


@pytest.fixture
async def large(tmp_path: Path) -> AsyncIterator[tuple[Emulator, RunningBot]]:
    """An organization with 40 calling locations, and the bot wired to it."""
    async with running_emulator(Seed.default().with_locations(40)) as emu, \
            running_bot(emu, tmp_path) as bot:
        yield emu, bot


async def test_coverage_shows_the_gap_by_name_and_writes_nothing(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)
    reply = await say(emu, "alice", "direct_alice", "coverage")
    text = card_text(reply)
    assert "1 of 4 locations covered" in text
    for name in ("Headquarters", "Northgate Urgent Care", "Lakeside Pharmacy"):
        assert name in text
    assert "riverside-desk@acme.example (its own address)" in text
    assert "on without an address" in text and "Warehouse" not in text
    assert emu.places.find("Headquarters")["id"] not in text  # names, never ids
    assert puts(emu) == [] and not emu.calls("PUT")
    # the same facts without a card
    assert "1 of 4 locations covered" in reply["markdown"]
    assert "Lakeside Pharmacy" in reply["markdown"]


@pytest.mark.parametrize(("who", "allowed"), [("rita", True), ("uma", True), ("bob", False)])
async def test_coverage_is_for_full_user_and_read_only_administrators(
    emu: Emulator, bot: RunningBot, who: str, allowed: bool
) -> None:
    text = card_text(await say(emu, who, f"direct_{who}", "locations"))
    assert ("locations covered" in text) is allowed
    assert bool(emu.calls("GET", READS)) is allowed


async def test_a_location_administrator_is_told_who_can_help(
    emu: Emulator, bot: RunningBot
) -> None:
    text = card_text(await say(emu, "lou", "direct_lou", "coverage"))
    assert "Location Administrator" in text and "Full or User Administrator" in text
    assert not emu.calls("GET", READS)


async def test_words_after_coverage_are_not_ignored(emu: Emulator, bot: RunningBot) -> None:
    text = card_text(await say(emu, "alice", "direct_alice", "coverage please"))
    assert "I did not understand “please”" in text and "Usage: `coverage`" in text
    assert not emu.calls("GET", READS)


async def test_a_long_report_posts_progress_edits_it_then_the_card(
    large: tuple[Emulator, RunningBot],
) -> None:
    emu, _ = large
    emu.latency = 0.02
    room = emu.seed.rooms["direct_alice"]
    await emu.post_message("alice", "direct_alice", "coverage")
    first = await next_bot_message(emu, room, timeout=20)
    assert first["text"].startswith("Checking 40") and not first.get("attachments")
    report = await emu.wait_for_message(
        lambda m: m["personId"] == emu.seed.bot_id and bool(m.get("attachments")), timeout=30)
    assert "0 of 40 locations covered" in card_text(report)
    progress = emu.state.messages[first["id"]]
    assert progress["text"] == "Checked 40 locations: the report follows."
    assert 1 <= emu.state.edits[first["id"]] <= 10
    assert len(bot_messages(emu, room)) == 2
    edits = emu.calls("PUT", "/messages/*")
    assert all(e.status == 200 for e in edits)


async def test_a_429_in_the_middle_of_a_report_loses_no_location(
    large: tuple[Emulator, RunningBot],
) -> None:
    emu, _ = large
    emu.set_setting(emergencyCallNotificationEnabled=True,
                    allowEmailNotificationAllLocationEnabled=True)
    emu.faults.latency(READS, 0.02)
    emu.faults.add(path=READS, status=429, retry_after=1, times=3)
    room = emu.seed.rooms["direct_alice"]
    await emu.post_message("alice", "direct_alice", "coverage")
    report = await emu.wait_for_message(
        lambda m: m["personId"] == emu.seed.bot_id and bool(m.get("attachments")), timeout=30)
    text = card_text(report)
    assert "40 of 40 locations covered" in text and "could not be read" not in text
    assert sum(1 for r in emu.calls("GET", READS) if r.status == 429) == 3
    assert len({r.path for r in emu.calls("GET", READS) if r.status == 200}) == 40
    assert len(bot_messages(emu, room)) == 2


def _readers(emu: Emulator) -> set[str | None]:
    """Whose tokens read the organization's setting, the list and the locations' settings (a
    token Webex no longer honours names nobody)."""
    return {c.person_id for path in (ECN, LIST, READS) for c in emu.calls("GET", path)
            if c.status != 401}


async def test_a_signed_in_full_administrators_coverage_is_read_with_her_own_token(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)
    await signed_in(emu, browser, "alice")
    text = card_text(await say(emu, "alice", "direct_alice", "coverage"))
    assert "1 of 4 locations covered" in text and LIMITED not in text
    assert len(emu.calls("GET", READS)) == 4
    assert _readers(emu) == {emu.identity("alice").id}


async def test_coverage_without_a_sign_in_offers_one_and_reads_nothing(
    emu: Emulator, admin_bot: RunningBot
) -> None:
    text = card_text(await say(emu, "alice", "direct_alice", "coverage"))
    assert "Sign in with Webex" in text and "locations covered" not in text
    assert _readers(emu) == set()


async def test_a_location_administrators_report_is_about_her_locations_and_says_so(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True,
                    allowEmailNotificationAllLocationEnabled=True)
    await signed_in(emu, browser, "lou")
    reply = await say(emu, "lou", "direct_lou", "coverage")
    text = card_text(reply)
    assert f"2 of 2 locations covered {LIMITED}" in text
    assert "this is not Acme Health's coverage, and says nothing of its other locations" in text
    assert "Riverside Clinic" in text and "Northgate Urgent Care" in text
    assert "Headquarters" not in text and "Lakeside Pharmacy" not in text
    assert card_of(reply)["body"][1]["style"] == "attention"  # never the org's all-clear
    assert _readers(emu) == {emu.identity("lou").id}
    assert [c.status for c in emu.calls("GET", ECN)] == [403]  # Webex refuses her the org's


async def _signing_in(tmp_path: Path, locations: int
                      ) -> AsyncIterator[tuple[Emulator, RunningBot]]:
    """`locations` calling locations, and the bot with CHANGES_WITH=admin."""
    port = free_port()
    async with running_emulator(Seed.default().with_locations(locations)) as emu, \
            running_bot(emu, tmp_path, webhooks=False, port=port,
                        **sign_in_settings(emu, port)) as bot:
        yield emu, bot


@pytest.fixture
async def large_admin(tmp_path: Path) -> AsyncIterator[tuple[Emulator, RunningBot]]:
    """40 calling locations."""
    async for running in _signing_in(tmp_path, 40):
        yield running


@pytest.fixture
async def none_of_lous(tmp_path: Path) -> AsyncIterator[tuple[Emulator, RunningBot]]:
    """12 calling locations, none of them lou's."""
    async for running in _signing_in(tmp_path, 12):
        yield running


async def test_a_location_administrator_who_sees_no_location_gets_an_empty_report(
    none_of_lous: tuple[Emulator, RunningBot], browser: aiohttp.ClientSession
) -> None:
    emu, _ = none_of_lous
    await signed_in(emu, browser, "lou")
    reply = await say(emu, "lou", "direct_lou", "coverage")
    text = card_text(reply)
    assert f"0 of 0 locations covered {LIMITED}" in text
    assert "Webex refused" not in text and "Webex could not do that" not in text
    # the organization's setting was refused to her and no location carried it: none is claimed
    assert "Organization: its setting is not shown; your Webex sign-in may not read it" in text
    assert "notifications ON" not in text and "notifications are OFF" not in text
    assert "this is not Acme Health's coverage, and says nothing of its other locations" in text
    assert card_of(reply)["body"][1]["style"] == "attention"
    assert [c.status for c in emu.calls("GET", ECN)] == [403]


async def test_a_401_in_the_middle_of_a_report_refreshes_once_and_reads_on(
    large_admin: tuple[Emulator, RunningBot], browser: aiohttp.ClientSession
) -> None:
    emu, _ = large_admin
    emu.set_setting(emergencyCallNotificationEnabled=True,
                    allowEmailNotificationAllLocationEnabled=True)
    await signed_in(emu, browser, "alice")
    alice = emu.identity("alice").id
    refreshes = len(emu.calls("POST", "/access_token"))
    # Webex refuses the token on one location's read, after the list and the organization's
    # setting were read with it: a token the bot believed valid (revoked, or expired early).
    emu.faults.add(path=READS, method="GET", status=401, times=1)
    await emu.post_message("alice", "direct_alice", "coverage")
    report = await emu.wait_for_message(
        lambda m: m["personId"] == emu.seed.bot_id and bool(m.get("attachments")), timeout=30)
    text = card_text(report)
    assert "40 of 40 locations covered" in text and "could not be read" not in text
    assert len(emu.calls("POST", "/access_token")) == refreshes + 1
    assert any(c.status == 401 for c in emu.calls("GET", READS))
    assert len({c.path for c in emu.calls("GET", READS) if c.status == 200}) == 40
    assert _readers(emu) == {alice}



async def test_webex_refusing_a_signed_in_admins_report_is_shown_with_its_tracking_id(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    await signed_in(emu, browser, "rita")
    emu.faults.add(path=ECN, method="GET", status=403, message="Not for you.")
    text = card_text(await say(emu, "rita", "direct_rita", "coverage"))
    assert "Webex refused this with your own Webex authorization" in text
    assert "locations covered" not in text and "Webex tracking ID: EMU_" in text


async def test_with_a_persons_sign_in_no_location_is_called_one_without_calling(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    # Her Calling list is what her token sees; Webex does not say its list of every location is
    # narrowed the same way, so a name missing from hers is not claimed to have no Calling.
    await signed_in(emu, browser, "alice")
    text = card_text(await say(emu, "alice", "direct_alice", "status at Warehouse"))
    assert "No Webex Calling location your Webex sign-in can see is called “Warehouse”" in text
    assert "not enabled for Webex Calling" not in text
    assert emu.calls("GET", "/locations") == []
