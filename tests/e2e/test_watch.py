"""The watch end to end, with a 2 s interval: one card per change per watching space."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.emulator import Emulator
from bot.server.app import WIRING
from tests.e2e.harness import RunningBot, running_bot
from tests.e2e.helpers import card_text, next_bot_message, puts, say, submit_data

INTERVAL = 2.0
SETTING = "/telephony/config/emergencyCallNotification"
ON = {"emergencyCallNotificationEnabled": True, "allowEmailNotificationAllLocationEnabled": True}


@asynccontextmanager
async def watching_bot(emu: Emulator, tmp_path: Path, **overrides: Any
                       ) -> AsyncIterator[RunningBot]:
    overrides.setdefault("WATCH_INTERVAL_SECONDS", INTERVAL)
    async with running_bot(emu, tmp_path, **overrides) as bot:
        yield bot


def watch_cards(emu: Emulator, room: str) -> list[dict[str, Any]]:
    """The watch's cards in a space (alerts and notices), oldest first."""
    room_id = emu.room_id(room)
    return [
        m for m in emu.state.messages.values()
        if m["roomId"] == room_id and m["personId"] == emu.seed.bot_id
        and (m.get("markdown") or "").startswith(("**Alert", "**Notice", "**Cannot check",
                                                  "**Checking again"))
    ]  # fmt: skip


async def checked(bot: RunningBot, times: int = 1, timeout: float = 20.0) -> datetime:
    """Wait until the watch has finished `times` more checks; returns when the last ended."""
    store, org = bot.store, bot.app[WIRING].org_id
    last = (await store.watch_state(org)).checked_at
    async with asyncio.timeout(timeout):
        for _ in range(times):
            while (now := (await store.watch_state(org)).checked_at) == last or now is None:  # noqa: ASYNC110 - the database is polled, as another replica would see it
                await asyncio.sleep(0.05)
            last = now
    assert last is not None
    return last


async def cards_in(emu: Emulator, room: str, count: int, timeout: float = 15.0
                   ) -> list[dict[str, Any]]:
    async with asyncio.timeout(timeout):
        while len(found := watch_cards(emu, room)) < count:  # noqa: ASYNC110 - what Webex holds
            await asyncio.sleep(0.05)
    return found


async def start_watching(emu: Emulator, bot: RunningBot, room: str = "group") -> None:
    reply = await say(emu, "alice", room, "watch")
    assert "Watching" in card_text(reply)
    await checked(bot)  # the first check takes the setting as it is


async def test_an_outside_change_is_one_alert_with_before_after_and_who(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(**ON)
    async with watching_bot(emu, tmp_path) as bot:
        await start_watching(emu, bot)
        emu.control_hub("uma", emergencyCallNotificationEnabled=False)
        [alert] = await cards_in(emu, "group", 1)
        text = card_text(alert)
        assert "Alert: emergency call notifications turned off" in text
        assert "Notifications: On → **Off**" in text
        assert "Headquarters" in text and "Not covered" in text
        assert "0 of 4 locations covered" in text
        assert "Uma Underwood (uma@acme.example)" in text  # from Webex's admin audit log
        assert "Restore" in [b.get("title") for b in alert["attachments"][0]["content"]["actions"]]
        await checked(bot, 2)
        assert len(watch_cards(emu, "group")) == 1
        async with aiohttp.ClientSession() as http, http.get(f"{bot.ops_url}/metrics") as reply:
            metrics = await reply.text()
        assert 'ecn_bot_watch_changes_total{kind="alert"} 1.0' in metrics
        assert 'ecn_bot_watch_checks_total{outcome="ok"}' in metrics
        assert "ecn_bot_watch_last_check_timestamp_seconds" in metrics


async def test_without_the_audit_scope_the_card_says_outside_this_bot(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(**ON)
    emu.state.audit_denied.add(emu.seed.admin_app.id)
    async with watching_bot(emu, tmp_path) as bot:
        await start_watching(emu, bot)
        emu.control_hub("uma", emailAddress="lobby@acme.example")
        [notice] = await cards_in(emu, "group", 1)
        text = card_text(notice)
        assert "Notice: setting changed" in text
        assert "outside this bot (Control Hub or the API)" in text
        assert "Uma" not in text


async def test_a_location_left_uncovered_is_one_alert_naming_it(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)  # all-locations off
    async with watching_bot(emu, tmp_path) as bot:
        await start_watching(emu, bot)
        emu.control_hub("alice", "Riverside Clinic", emergencyCallNotificationEnabled=False)
        [alert] = await cards_in(emu, "group", 1)
        text = card_text(alert)
        assert "Alert: emergency call notifications turned off at Riverside Clinic" in text
        assert "Location: Riverside Clinic" in text
        assert "Covered (its own address: riverside-desk@acme.example)" in text
        assert "0 of 4 locations covered" in text
        await checked(bot, 2)
        assert len(watch_cards(emu, "group")) == 1


async def test_a_change_through_the_bot_is_one_notice_naming_the_admin(
    emu: Emulator, tmp_path: Path
) -> None:
    async with watching_bot(emu, tmp_path, WATCH_INTERVAL_SECONDS=900) as bot:
        await start_watching(emu, bot)
        await say(emu, "alice", "direct_alice", "enable ops@acme.example")
        # The change pokes the watch: no waiting for the (15 minute) interval.
        [notice] = await cards_in(emu, "group", 1)
        text = card_text(notice)
        assert "alice@acme.example through this bot (command)" in text
        assert "Notifications: Off → **On**" in text
        assert "outside this bot" not in text
        await say(emu, "alice", "direct_alice", "status")
        await bot.app[WIRING].watch.run_once()
        assert len(watch_cards(emu, "group")) == 1


async def test_restart_repeats_nothing_and_a_change_while_stopped_is_one_card(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(**ON)
    async with watching_bot(emu, tmp_path) as bot:
        await start_watching(emu, bot)
        emu.control_hub("alice", emailAddress="first@acme.example")
        await cards_in(emu, "group", 1)
    emu.control_hub("alice", emailAddress="second@acme.example")  # while the bot is down
    async with watching_bot(emu, tmp_path) as bot:
        cards = await cards_in(emu, "group", 2)
        assert "second@acme.example" in card_text(cards[1])
        await checked(bot, 2)
    async with watching_bot(emu, tmp_path) as bot:
        await checked(bot, 2)
    assert len(watch_cards(emu, "group")) == 2


async def test_a_check_cut_by_shutdown_is_reported_once_after_the_restart(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(**ON)
    async with watching_bot(emu, tmp_path, SHUTDOWN_GRACE_SECONDS=0.5) as bot:
        await start_watching(emu, bot)
        emu.faults.latency("/telephony/config/locations", 30.0)  # the next check hangs
        emu.control_hub("alice", emergencyCallNotificationEnabled=False)
        await asyncio.sleep(INTERVAL * 1.5)
    assert watch_cards(emu, "group") == []
    emu.faults.clear()
    async with watching_bot(emu, tmp_path) as bot:
        await cards_in(emu, "group", 1)
        await checked(bot, 2)
    assert len(watch_cards(emu, "group")) == 1


async def test_watch_off_stops_the_cards_and_watch_twice_says_when_it_last_checked(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(**ON)
    async with watching_bot(emu, tmp_path) as bot:
        await start_watching(emu, bot, "direct_alice")
        await say(emu, "alice", "group", "watch")
        again = card_text(await say(emu, "alice", "group", "watch"))
        assert "Already watching" in again and "The last check ran" in again
        assert "Not watching" in card_text(await say(emu, "alice", "group", "watch off"))
        unsure = card_text(await say(emu, "alice", "group", "watch sometimes"))
        assert "did not understand" in unsure
        emu.control_hub("alice", emailAddress="later@acme.example")
        await cards_in(emu, "direct_alice", 1)
        await checked(bot)
    assert watch_cards(emu, "group") == []


async def test_only_full_and_user_administrators_turn_the_watch_on(
    emu: Emulator, tmp_path: Path
) -> None:
    async with watching_bot(emu, tmp_path) as bot:
        refused = card_text(await say(emu, "rita", "group", "watch"))
        assert "Not allowed" in refused
        assert await bot.store.watching_spaces(bot.app[WIRING].org_id) == []


async def test_three_failed_checks_give_one_notice_and_one_when_checks_succeed_again(
    emu: Emulator, tmp_path: Path
) -> None:
    async with watching_bot(emu, tmp_path, WEBEX_MAX_RETRIES=0) as bot:
        await start_watching(emu, bot)
        emu.faults.add(path=SETTING, method="GET", status=503, times=None)
        [notice] = await cards_in(emu, "group", 1)
        assert "Cannot check" in card_text(notice) and "3 checks" in card_text(notice)
        await checked(bot, 2)
        assert len(watch_cards(emu, "group")) == 1
        emu.faults.clear()
        cards = await cards_in(emu, "group", 2)
        assert "Checking again" in card_text(cards[1])
        await checked(bot, 2)
        assert len(watch_cards(emu, "group")) == 2


async def test_a_429_storm_reports_no_change(emu: Emulator, tmp_path: Path) -> None:
    emu.set_setting(**ON)
    async with watching_bot(emu, tmp_path, WEBEX_MAX_RETRIES=0) as bot:
        await start_watching(emu, bot)
        emu.faults.add(path="/telephony/config/locations", status=429, retry_after=1, times=None)
        await checked(bot, 2)
        state = await bot.store.watch_state(bot.app[WIRING].org_id)
        assert state.outcome == "failed" and watch_cards(emu, "group") == []


async def test_a_space_the_bot_was_removed_from_is_unsubscribed(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(**ON)
    async with watching_bot(emu, tmp_path) as bot:
        await start_watching(emu, bot)
        room = emu.room_id("group")
        for key, member in list(emu.state.memberships.items()):
            if member["roomId"] == room and member["personId"] == emu.seed.bot_id:
                del emu.state.memberships[key]
        emu.control_hub("alice", emailAddress="gone@acme.example")
        async with asyncio.timeout(15):
            while await bot.store.watching_spaces(bot.app[WIRING].org_id):  # noqa: ASYNC110 - the database
                await asyncio.sleep(0.05)
    assert watch_cards(emu, "group") == []


@pytest.mark.parametrize(("presser", "restored"), [("alice", True), ("rita", False)])
async def test_restore_puts_the_previous_value_back_for_administrators_only(
    emu: Emulator, tmp_path: Path, presser: str, restored: bool
) -> None:
    emu.set_setting(**ON)
    async with watching_bot(emu, tmp_path) as bot:
        await start_watching(emu, bot)
        emu.control_hub("uma", allowEmailNotificationAllLocationEnabled=False)
        [alert] = await cards_in(emu, "group", 1)
        assert "Alert: 3 locations no longer covered" in card_text(alert)
        await emu.press_card(presser, alert["id"], submit_data(alert, "Restore"))
        answer = card_text(await next_bot_message(emu, alert["roomId"]))
        assert ("Setting changed" if restored else "You are not allowed") in answer
        expected = [{**emu.setting(), "allowEmailNotificationAllLocationEnabled": True}]
        assert [p.json for p in puts(emu)] == (expected if restored else [])
        assert emu.setting()["allowEmailNotificationAllLocationEnabled"] is restored


async def test_restore_is_refused_when_the_setting_changed_again(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(**ON)
    async with watching_bot(emu, tmp_path, WATCH_INTERVAL_SECONDS=900) as bot:
        await start_watching(emu, bot)
        emu.control_hub("uma", emergencyCallNotificationEnabled=False)
        await bot.app[WIRING].watch.run_once()
        [alert] = watch_cards(emu, "group")
        emu.control_hub("uma", emailAddress="other@acme.example")
        await emu.press_card("alice", alert["id"], submit_data(alert, "Restore"))
        assert "changed again" in card_text(await next_bot_message(emu, alert["roomId"]))
        assert puts(emu) == []
        assert emu.setting()["emergencyCallNotificationEnabled"] is False


async def test_a_location_change_through_the_bot_is_one_notice_naming_the_admin(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)
    async with watching_bot(emu, tmp_path, WATCH_INTERVAL_SECONDS=900) as bot:
        await start_watching(emu, bot)
        await say(emu, "alice", "direct_alice",
                  'set email desk2@acme.example at "Riverside Clinic"')
        [notice] = await cards_in(emu, "group", 1)
        text = card_text(notice)
        assert "Location: Riverside Clinic" in text
        assert "Notification email: riverside-desk@acme.example → **desk2@acme.example**" in text
        assert "alice@acme.example through this bot (command)" in text
        assert "outside this bot" not in text


async def test_restore_on_a_location_alert_writes_the_location_back(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)
    async with watching_bot(emu, tmp_path) as bot:
        await start_watching(emu, bot)
        emu.control_hub("uma", "Riverside Clinic", emergencyCallNotificationEnabled=False)
        [alert] = await cards_in(emu, "group", 1)
        await emu.press_card("uma", alert["id"], submit_data(alert, "Restore"))
        await next_bot_message(emu, alert["roomId"])
        place = emu.places.find("Riverside Clinic")
        writes = [c.json for c in emu.calls("PUT", f"/telephony/config/locations/{place['id']}"
                                            "/emergencyCallNotification") if c.status == 204]
        assert writes == [{"emergencyCallNotificationEnabled": True,
                           "emailAddress": "riverside-desk@acme.example"}]
        # The used alert is removed; the restore went through the bot, and its notice names
        # uma, never "outside".
        async with asyncio.timeout(15):
            while alert["id"] in emu.state.messages or not watch_cards(emu, "group"):  # noqa: ASYNC110 - what Webex holds
                await asyncio.sleep(0.05)
        [notice] = watch_cards(emu, "group")
        assert "uma@acme.example through this bot (card)" in card_text(notice)
        await checked(bot, 2)
        assert len(watch_cards(emu, "group")) == 1


async def test_a_restore_of_what_was_already_restored_is_unchanged_in_history(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)
    async with watching_bot(emu, tmp_path, WATCH_INTERVAL_SECONDS=900) as bot:
        await start_watching(emu, bot)
        emu.control_hub("uma", "Riverside Clinic", emergencyCallNotificationEnabled=False)
        await bot.app[WIRING].watch.run_once()
        [alert] = watch_cards(emu, "group")
        emu.control_hub("uma", "Riverside Clinic", emergencyCallNotificationEnabled=True)
        await emu.press_card("alice", alert["id"], submit_data(alert, "Restore"))
        answer = card_text(await next_bot_message(emu, alert["roomId"]))
        assert "Nothing to change — Riverside Clinic" in answer
        assert emu.calls("PUT", "/telephony/config/locations/*/emergencyCallNotification") == []
        await bot.idle()
        history = card_text(await say(emu, "alice", "direct_alice", "history"))
        assert "restore at Riverside Clinic (unchanged)" in history
        assert "(applied)" not in history


async def test_a_location_turned_on_as_control_hub_turns_the_org_off_is_a_notice_not_blamed(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_setting(**ON)  # Headquarters has no notification of its own
    async with watching_bot(emu, tmp_path, WATCH_INTERVAL_SECONDS=900) as bot:
        await start_watching(emu, bot)
        emu.control_hub("uma", emergencyCallNotificationEnabled=False)  # within one interval
        await say(emu, "alice", "direct_alice", "enable hq2@acme.example at Headquarters")
        org, hq = await cards_in(emu, "group", 2)  # the change through the bot pokes the watch
        org_text, hq_text = card_text(org), card_text(hq)
        assert "Emergency calls from 4 locations now send no email" in org_text
        assert "Headquarters: Covered (the organization's address" in org_text
        assert "Restore" in [b.get("title") for b in org["attachments"][0]["content"]["actions"]]
        assert "Notice: setting changed" in hq_text and "Location: Headquarters" in hq_text
        assert "alice@acme.example through this bot (command)" in hq_text
        assert "Headquarters: Covered" not in hq_text
        assert hq["attachments"][0]["content"].get("actions", []) == []
