"""What a change leaves covered, as the admin sees it: the change card's coverage line, and the
confirmation asked before an organization change that uncovers locations."""

from __future__ import annotations

from bot.emulator import Emulator
from tests.e2e.harness import RunningBot
from tests.e2e.helpers import card_text, puts, say
from tests.e2e.test_cards import press

READS = "/telephony/config/locations/*/emergencyCallNotification"
ALL_ON = {"emergencyCallNotificationEnabled": True,
          "allowEmailNotificationAllLocationEnabled": True}


def every_location_its_own(emu: Emulator) -> None:
    """All-locations on, and every location covered by a notification of its own as well."""
    emu.set_setting(**ALL_ON)
    for name in ("Headquarters", "Lakeside Pharmacy", "Northgate Urgent Care"):
        emu.places.set(name, emergencyCallNotificationEnabled=True, emailAddress="d@acme.example")


async def test_all_locations_off_that_uncovers_asks_first_naming_how_many(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(**ALL_ON)
    confirm = await say(emu, "alice", "group", "set all-locations off")
    text = card_text(confirm)
    assert "Turn off email for all locations?" in text and "Kari's Law" in text
    assert "This leaves 3 of 4 locations uncovered" in text
    for name in ("Headquarters", "Lakeside Pharmacy", "Northgate Urgent Care"):
        assert name in text
    # Northgate's own notification is on, without an address: the reason given fits it too.
    assert "as the organization's would no longer reach them" in text
    assert "no notification of their own" not in text
    assert puts(emu) == [] and emu.setting()["allowEmailNotificationAllLocationEnabled"]

    refused = await press(emu, "uma", confirm, "Turn off email for all locations")
    assert "Only the person who asked" in card_text(refused)
    assert puts(emu) == []

    done = await press(emu, "alice", confirm, "Turn off email for all locations")
    assert [w.json for w in puts(emu)] == [{
        "emergencyCallNotificationEnabled": True,
        "allowEmailNotificationAllLocationEnabled": False,
        "emailAddress": "security@acme.example"}]
    text = card_text(done)
    assert "1 of 4 locations covered (all-locations is off); not covered: " in text
    assert "Northgate Urgent Care" in text
    rows = await bot.store.list_audit(emu.seed.org_id)
    # Uma's refused press is audited as the change the card was for, not as `disable`.
    assert sorted((r.action, r.outcome) for r in rows) == [
        ("set all-locations", "applied"), ("set all-locations", "refused")]


async def test_keeping_all_locations_on_changes_nothing(emu: Emulator, bot: RunningBot) -> None:
    emu.set_setting(**ALL_ON)
    confirm = await say(emu, "alice", "direct_alice", "set all-locations off")
    assert "Nothing was changed" in card_text(await press(emu, "alice", confirm, "Keep it on"))
    assert puts(emu) == [] and emu.setting()["allowEmailNotificationAllLocationEnabled"]


async def test_all_locations_off_that_uncovers_nothing_is_made_and_says_so(
    emu: Emulator, bot: RunningBot
) -> None:
    every_location_its_own(emu)
    reply = await say(emu, "alice", "direct_alice", "set all-locations off")
    assert [w.json["allowEmailNotificationAllLocationEnabled"] for w in puts(emu)] == [False]
    assert "4 of 4 locations covered (all-locations is off)." in card_text(reply)


async def test_all_locations_off_confirms_anyway_when_locations_cannot_be_read(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(**ALL_ON)
    emu.faults.add(path=READS, method="GET", status=500, times=None)
    confirm = await say(emu, "alice", "direct_alice", "set all-locations off")
    text = card_text(confirm)
    assert "I cannot tell how many locations this would leave without an email notification: " \
           "4 locations could not be read." in text
    assert puts(emu) == []
    emu.faults.clear()
    await press(emu, "alice", confirm, "Turn off email for all locations")
    assert [w.json["allowEmailNotificationAllLocationEnabled"] for w in puts(emu)] == [False]


async def test_a_form_switching_all_locations_off_asks_to_confirm(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(**ALL_ON)
    form = await say(emu, "alice", "direct_alice", "edit")
    confirm = await press(emu, "alice", form, "Save", allLocations="false")
    assert "This leaves 3 of 4 locations uncovered" in card_text(confirm)
    assert puts(emu) == []
    await press(emu, "alice", confirm, "Turn off email for all locations")
    assert [w.json["allowEmailNotificationAllLocationEnabled"] for w in puts(emu)] == [False]
    [row] = await bot.store.list_audit(emu.seed.org_id)
    assert (row.action, row.outcome) == ("save", "applied")


async def test_organization_change_cards_say_what_is_covered(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(allowEmailNotificationAllLocationEnabled=True)
    text = card_text(await say(emu, "alice", "direct_alice", "enable"))
    assert "Every location is covered: its emergency calls email security@acme.example" in text
    confirm = await say(emu, "alice", "direct_alice", "disable")
    done = card_text(await press(emu, "alice", confirm, "Turn off notifications"))
    assert "No location is covered: notifications are off for the organization." in done
    emu.set_setting(allowEmailNotificationAllLocationEnabled=False)
    text = card_text(await say(emu, "alice", "direct_alice", "enable"))
    assert "Only locations with a notification of their own are covered " \
           "(all-locations is off): ask `coverage` for which." in text


async def test_a_location_change_says_when_the_location_is_still_not_covered(
    emu: Emulator, bot: RunningBot
) -> None:
    # The tester's repro: the organization turned off outside the bot, then a location enabled.
    text = card_text(await say(emu, "alice", "direct_alice",
                               "enable hq2@acme.example at Headquarters"))
    assert "Headquarters: not covered — notifications are off for the organization" in text
    emu.set_setting(emergencyCallNotificationEnabled=True)
    text = card_text(await say(emu, "alice", "direct_alice",
                               "set email hq3@acme.example at Headquarters"))
    assert "Headquarters: covered — emergency calls email hq3@acme.example " \
           "(its own address)." in text


async def test_a_location_change_card_shows_only_what_changed(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.places.set("Headquarters", emailAddress="hq@acme.example")
    text = card_text(await say(emu, "alice", "direct_alice", "enable at Headquarters"))
    assert "Location's own notification: Off → **On**" in text
    assert "Location's notification email" not in text
    assert "hq@acme.example → hq@acme.example" not in text



async def test_a_location_that_cannot_be_read_back_is_not_called_uncovered(
    emu: Emulator, bot: RunningBot
) -> None:
    every_location_its_own(emu)
    hq = READS.replace("*", emu.places.find("Headquarters")["id"])
    emu.faults.add(path=hq, method="GET", status=500, times=None)
    confirm = await say(emu, "alice", "direct_alice", "set all-locations off")
    assert "1 location could not be read" in card_text(confirm)
    done = card_text(await press(emu, "alice", confirm, "Turn off email for all locations"))
    assert [w.json["allowEmailNotificationAllLocationEnabled"] for w in puts(emu)] == [False]
    assert "3 of 4 locations covered (all-locations is off); Headquarters could not be read: " \
           "ask `coverage`." in done
    assert "not covered: Headquarters" not in done


async def test_a_form_saved_after_the_setting_moved_is_not_asked_about_as_it_was(
    emu: Emulator, bot: RunningBot
) -> None:
    emu.set_setting(**ALL_ON)
    form = await say(emu, "alice", "direct_alice", "edit")
    emu.set_setting(emailAddress="moved@acme.example")  # Control Hub, after the form was posted
    reply = await press(emu, "alice", form, "Save", allLocations="false")
    text = card_text(reply)
    # What it would uncover was judged from a setting that no longer holds: not asked at all.
    assert "This leaves" not in text and "Turn off email for all locations?" not in text
    assert "Someone changed the setting after this form was posted" in text
    assert puts(emu) == [] and emu.setting()["allowEmailNotificationAllLocationEnabled"]
