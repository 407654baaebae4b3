"""The covered rule as a table, and the coverage reader against the emulator over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from bot.compliance.coverage import CoverageReader, CoverageSnapshot, Reason, judge
from bot.compliance.targets import match_location
from bot.conversation.words import split_target
from bot.emulator import Emulator, Seed, running_emulator
from bot.errors import WebexError
from bot.models import NotificationSetting
from bot.webex.auth import StaticAdminToken
from bot.webex.locations import CallingLocation, LocationsClient, LocationSetting
from bot.webex.pacing import OrgPacer
from bot.webex.rest import WebexRest
from bot.webex.retry import RetryPolicy
from bot.webex.telephony import TelephonyClient

ORG = "security@acme.example"
OWN = "desk@acme.example"
LOCATION_READS = "/telephony/config/locations/*/emergencyCallNotification"
LIST = "/telephony/config/location[s]"  # the list alone (a glob, not a prefix)


def org(enabled: bool, all_locations: bool, email: str | None) -> NotificationSetting:
    return NotificationSetting.model_validate({
        "emergencyCallNotificationEnabled": enabled,
        "allowEmailNotificationAllLocationEnabled": all_locations, "emailAddress": email or ""})


def own(enabled: bool, email: str | None) -> LocationSetting:
    return LocationSetting.model_validate(
        {"emergencyCallNotificationEnabled": enabled, "emailAddress": email or ""})


@pytest.mark.parametrize(
    ("org_on", "all_on", "org_email", "own_on", "own_email", "reason", "email"),
    [
        # organization on, all-locations on
        (True, True, ORG, False, None, Reason.ORG_ADDRESS, ORG),
        (True, True, ORG, True, OWN, Reason.OWN_ADDRESS, OWN),
        (True, True, ORG, True, None, Reason.ORG_ADDRESS, ORG),
        (True, True, ORG, False, OWN, Reason.ORG_ADDRESS, ORG),
        (True, True, None, False, None, Reason.NO_ADDRESS, None),
        (True, True, None, True, OWN, Reason.OWN_ADDRESS, OWN),
        # organization on, all-locations off: each location on its own
        (True, False, ORG, False, None, Reason.NO_OWN, None),
        (True, False, ORG, False, OWN, Reason.NO_OWN, None),
        (True, False, ORG, True, OWN, Reason.OWN_ADDRESS, OWN),
        (True, False, ORG, True, None, Reason.NO_ADDRESS, None),
        (True, False, None, True, OWN, Reason.OWN_ADDRESS, OWN),
        # organization off: never covered, whatever the location says
        (False, True, ORG, False, None, Reason.ORG_OFF, None),
        (False, False, ORG, True, OWN, Reason.ORG_OFF_OWN_ON, None),
        (False, True, ORG, True, OWN, Reason.ORG_OFF_OWN_ON, None),
    ],
)
def test_the_covered_rule(
    org_on: bool, all_on: bool, org_email: str | None, own_on: bool, own_email: str | None,
    reason: Reason, email: str | None,
) -> None:
    verdict = judge(org(org_on, all_on, org_email), own(own_on, own_email))
    assert (verdict.reason, verdict.email) == (reason, email)
    assert verdict.covered == (reason in {Reason.OWN_ADDRESS, Reason.ORG_ADDRESS})


@dataclass
class Rig:
    emu: Emulator
    reader: CoverageReader

    async def read(self) -> CoverageSnapshot:
        return await self.reader.read(self.emu.seed.org_id)


@pytest.fixture(name="rig")
async def rig_fixture(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    count = getattr(request, "param", 0)
    seed = Seed.default().with_locations(count) if count else None
    async with running_emulator(seed, check_responses=True) as emu, \
            aiohttp.ClientSession() as session:
        rest = WebexRest(session, emu.base_url, timeout=5.0)
        auth = StaticAdminToken(emu.seed.admin_token)
        policy = RetryPolicy(base_delay=0.01, retry_after_cap=5.0)
        reader = CoverageReader(
            TelephonyClient(rest, auth, policy=policy),
            LocationsClient(rest, auth, OrgPacer(10), policy=policy),
        )
        yield Rig(emu, reader)


async def test_the_demo_org_shows_each_state(rig: Rig) -> None:
    rig.emu.set_setting(emergencyCallNotificationEnabled=True)
    snapshot = await rig.read()
    assert snapshot.complete and not snapshot.organization_changed
    assert [(c.name, c.verdict.reason, c.verdict.email) for c in snapshot.locations] == [
        ("Headquarters", Reason.NO_OWN, None),
        ("Riverside Clinic", Reason.OWN_ADDRESS, "riverside-desk@acme.example"),
        ("Northgate Urgent Care", Reason.NO_ADDRESS, None),
        ("Lakeside Pharmacy", Reason.NO_OWN, None),
    ]  # the Warehouse has no Webex Calling: not in the report
    assert (snapshot.covered, len(snapshot.counted)) == (1, 4)
    rig.emu.set_setting(allowEmailNotificationAllLocationEnabled=True)
    again = await rig.read()
    assert again.covered == 4
    assert {c.verdict.email for c in again.locations} == {ORG, "riverside-desk@acme.example"}
    assert not rig.emu.calls("PUT")  # a report writes nothing


@pytest.mark.parametrize("rig", [25], indirect=True)
async def test_three_pages_are_followed_and_every_location_read_once(rig: Rig) -> None:
    rig.emu.places.page_cap = 10
    snapshot = await rig.read()
    assert len(rig.emu.calls("GET", LIST)) == 3
    assert [c.name for c in snapshot.locations] == [f"Site {i:04d}" for i in range(1, 26)]
    reads = [r.path for r in rig.emu.calls("GET", LOCATION_READS)]
    assert sorted(reads) == sorted(set(reads)) and len(reads) == 25


@pytest.mark.parametrize("rig", [40], indirect=True)
async def test_at_most_ten_calls_in_flight(rig: Rig) -> None:
    rig.emu.latency = 0.05
    await rig.read()
    edges = sorted(
        [(r.arrived, 1) for r in rig.emu.calls("GET", "/telephony/*")]
        + [(r.at, -1) for r in rig.emu.calls("GET", "/telephony/*")]
    )
    in_flight = peak = 0
    for _, step in edges:
        in_flight += step
        peak = max(peak, in_flight)
    assert 2 <= peak <= 11  # ten location calls, and the organization's read beside them


async def test_a_failing_location_is_unreadable_with_its_tracking_id(rig: Rig) -> None:
    rig.emu.set_setting(emergencyCallNotificationEnabled=True,
                        allowEmailNotificationAllLocationEnabled=True)
    lakeside = rig.emu.places.find("Lakeside Pharmacy")["id"]
    rig.emu.faults.add(path=f"/telephony/config/locations/{lakeside}/*", status=500)
    snapshot = await rig.read()
    bad = next(c for c in snapshot.locations if c.name == "Lakeside Pharmacy")
    assert bad.verdict.reason is Reason.UNREADABLE and not bad.covered
    assert bad.tracking_id and bad.tracking_id.startswith("EMU_")
    assert (snapshot.covered, len(snapshot.counted)) == (3, 4)


async def test_a_location_deleted_between_list_and_read_is_reported_gone(rig: Rig) -> None:
    lakeside = rig.emu.places.find("Lakeside Pharmacy")["id"]

    async def delete_once_listed(read: int, listed: int, done: bool) -> None:
        if listed and lakeside in rig.emu.state.locations:
            rig.emu.places.delete(lakeside)

    rig.emu.faults.latency(LOCATION_READS, 0.05)
    snapshot = await rig.reader.read(rig.emu.seed.org_id, delete_once_listed)
    gone = next(c for c in snapshot.locations if c.name == "Lakeside Pharmacy")
    assert gone.verdict.reason is Reason.GONE
    assert len(snapshot.counted) == 3 and snapshot.complete


@pytest.mark.parametrize("rig", [30], indirect=True)
async def test_a_failing_page_makes_the_report_incomplete(rig: Rig) -> None:
    rig.emu.places.page_cap = 10

    async def break_the_next_page(read: int, listed: int, done: bool) -> None:
        if listed == 10 and not rig.emu.faults.active:
            rig.emu.faults.add(path=LIST, status=500, times=None)

    snapshot = await rig.reader.read(rig.emu.seed.org_id, break_the_next_page)
    assert not snapshot.complete and snapshot.problem and snapshot.tracking_id
    assert len(snapshot.locations) == 10


@pytest.mark.parametrize("rig", [60], indirect=True)
async def test_a_429_storm_holds_every_call_for_the_window_and_loses_no_location(
    rig: Rig,
) -> None:
    rig.emu.latency = 0.02

    async def storm(read: int, listed: int, done: bool) -> None:
        if read == 5 and not rig.emu.faults.active and not any(
            r.status == 429 for r in rig.emu.calls()
        ):
            rig.emu.faults.add(path=LOCATION_READS, status=429, retry_after=1, times=10)

    snapshot = await rig.reader.read(rig.emu.seed.org_id, storm)
    assert all(c.verdict.reason is not Reason.UNREADABLE for c in snapshot.locations)
    assert len(snapshot.locations) == 60
    calls = rig.emu.calls()
    refused = [r for r in calls if r.status == 429]
    assert len(refused) == 10
    for r in refused:  # a little slack for calls already on their way when the 429 left
        inside = [q for q in calls if r.at + 0.1 < q.arrived < r.at + 0.95]
        assert inside == [], (r.at, [q.arrived for q in inside])


@pytest.mark.parametrize(
    ("args", "before", "name"),
    [
        ("", "", None),
        ("ops@acme.example", "ops@acme.example", None),
        ("at Riverside Clinic", "", "Riverside Clinic"),
        ("ops@acme.example at Riverside Clinic", "ops@acme.example", "Riverside Clinic"),
        ("AT  headquarters ", "", "headquarters"),
        ('at "Cafe at Main"', "", "Cafe at Main"),
        ("at “Lakeside”", "", "Lakeside"),
        ('at "Headquarters" please', "", "Headquarters"),  # the words after are refused later
        ('at "Headquarters', "", '"Headquarters'),  # refused later: the quote is never closed
        ("at Cafe at Main", "", "Cafe at Main"),  # the first standalone "at" starts the name
        ("at", "", ""),
        ("at@acme.example", "at@acme.example", None),
    ],
)
def test_the_at_location_target_is_read_from_the_words(
    args: str, before: str, name: str | None
) -> None:
    assert split_target(args) == (before, name)


PLACES = [CallingLocation(id=f"id-{n}", name=n) for n in (
    "Headquarters", "Headquarters Annex", "Riverside Clinic", "Rivergate", "Zürich Büro")]


@pytest.mark.parametrize(
    ("typed", "found", "ambiguous", "offered"),
    [
        ("headquarters", "Headquarters", False, ()),  # the whole name wins over a prefix
        ("HEADQUARTERS annex", "Headquarters Annex", False, ()),
        ("riverside", "Riverside Clinic", False, ()),
        ("zürich", "Zürich Büro", False, ()),
        ("river", None, True, ("Rivergate", "Riverside Clinic")),
        ("head", None, True, ("Headquarters", "Headquarters Annex")),
        ("Riverbank", None, False, ("Rivergate", "Riverside Clinic")),
        ("x" * 256, None, False, ()),
    ],
)
def test_a_name_names_one_location_or_offers_the_closest(
    typed: str, found: str | None, ambiguous: bool, offered: tuple[str, ...]
) -> None:
    match = match_location(typed, PLACES)
    assert (match.found.name if match.found else None, match.ambiguous) == (found, ambiguous)
    assert set(offered) <= set(match.closest)


async def test_a_next_page_link_to_another_host_is_refused_before_sending_the_token(
    rig: Rig,
) -> None:
    async with aiohttp.ClientSession() as session:
        rest = WebexRest(session, rig.emu.base_url)
        with pytest.raises(WebexError, match="points away from Webex"):
            await rest.fetch("GET", "http://attacker.example/v1/telephony/config/locations",
                             rig.emu.seed.admin_token, endpoint="GET /telephony/config/locations")
        same_host = rig.emu.base_url + "/telephony/config/locations?max=1"
        answer = await rest.fetch("GET", same_host, rig.emu.seed.admin_token,
                                  endpoint="GET /telephony/config/locations")
        assert len(answer.body["locations"]) == 1 and answer.next_url is not None


async def test_a_location_that_times_out_is_unreadable_and_the_rest_are_read() -> None:
    async with running_emulator() as emu, aiohttp.ClientSession() as session:
        rest = WebexRest(session, emu.base_url, timeout=0.3)
        auth = StaticAdminToken(emu.seed.admin_token)
        policy = RetryPolicy(max_retries=1, base_delay=0.01)
        reader = CoverageReader(TelephonyClient(rest, auth, policy=policy),
                                LocationsClient(rest, auth, OrgPacer(10), policy=policy))
        lakeside = emu.places.find("Lakeside Pharmacy")["id"]
        emu.faults.add(path=f"/telephony/config/locations/{lakeside}/*", hang=2, times=None)
        snapshot = await reader.read(emu.seed.org_id)
    reasons = {c.name: c.verdict.reason for c in snapshot.locations}
    assert reasons["Lakeside Pharmacy"] is Reason.UNREADABLE
    assert Reason.UNREADABLE not in [r for n, r in reasons.items() if n != "Lakeside Pharmacy"]
    assert snapshot.complete and len(snapshot.counted) == 4 and snapshot.covered == 0


async def test_every_location_named_is_listed_with_or_without_calling_every_page() -> None:
    async with running_emulator(check_responses=True) as emu, \
            aiohttp.ClientSession() as session:
        emu.places.page_cap = 1
        emu.places.set("Lakeside Pharmacy", name="Warehouse Annex")
        locations = LocationsClient(WebexRest(session, emu.base_url, timeout=5.0),
                                    StaticAdminToken(emu.seed.admin_token), OrgPacer(10),
                                    policy=RetryPolicy(base_delay=0.01, retry_after_cap=5.0))
        names = await locations.names_containing(emu.seed.org_id, "WAREHOUSE")
    assert sorted(names) == ["Warehouse", "Warehouse Annex"]  # the first has no Webex Calling
    assert len(emu.calls("GET", "/locations")) == 2
