"""The seeded locations: the demo organization's mix of states, and a large one for benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.emulator.ids import stable_id

MAX_ASSIGNED = 5  # Webex: a location administrator is assigned to at most five locations


@dataclass(frozen=True)
class SeedLocation:
    """A location: its name, whether it has Webex Calling, and its own notification setting."""

    id: str
    name: str
    org_id: str
    calling: bool = True
    enabled: bool = False
    email: str = ""
    city: str = "Springfield"
    phone: str | None = "+15555550100"
    extra: dict[str, Any] = field(default_factory=dict)


def location(key: str, name: str, org_id: str, **fields: Any) -> SeedLocation:
    """A seed location whose id is derived from a stable key."""
    return SeedLocation(stable_id("LOCATION", key), name, org_id, **fields)


def demo_locations(org_id: str, other_org_id: str) -> tuple[SeedLocation, ...]:
    """Acme's five locations in different states (and Globex's one).

    With Acme's notifications on and all-locations on, Riverside uses its own address and the
    rest the organization's; with all-locations off, only Riverside is covered, Northgate is
    on without an address, and the Warehouse (no Webex Calling) is never in the report."""
    return (
        location("acme-main", "Headquarters", org_id, city="Springfield"),
        location("acme-riverside", "Riverside Clinic", org_id, enabled=True,
                 email="riverside-desk@acme.example", city="Riverside", phone="+15555550101"),
        location("acme-northgate", "Northgate Urgent Care", org_id, enabled=True,
                 city="Northgate", phone=None),
        location("acme-lakeside", "Lakeside Pharmacy", org_id, city="Lakeside",
                 phone="+15555550103"),
        location("acme-warehouse", "Warehouse", org_id, calling=False, city="Springfield",
                 phone=None),
        location("globex-main", "Globex Main Office", other_org_id, city="Shelbyville"),
    )


def numbered_locations(org_id: str, count: int) -> tuple[SeedLocation, ...]:
    """`count` calling locations "Site 0001"…, every tenth with its own address."""
    return tuple(
        location(f"site-{i:05d}", f"Site {i:04d}", org_id, enabled=i % 10 == 0,
                 email=f"site{i:04d}@acme.example" if i % 10 == 0 else "",
                 phone=f"+1555{i:07d}")
        for i in range(1, count + 1)
    )


def telephony_json(place: dict[str, Any]) -> dict[str, Any]:
    """A location as GET /telephony/config/locations lists it."""
    return {
        "id": place["id"],
        "name": place["name"],
        "routingPrefix": "",
        "outsideDialDigit": "9",
        "callingLineId": {"name": place["name"], "phoneNumber": place["phone"]},
        "e911SetupRequired": False,
        "enforceOutsideDialDigit": False,
    }


def location_json(place: dict[str, Any]) -> dict[str, Any]:
    """A location as GET /locations lists it (the shape of Webex's examples)."""
    return {
        "id": place["id"],
        "name": place["name"],
        "orgId": place["orgId"],
        "address": {
            "address1": "1 Main St.",
            "city": place["city"],
            "state": "IL",
            "postalCode": "62701",
            "country": "US",
        },
        "timeZone": "America/Chicago",
        "preferredLanguage": "en_us",
        "latitude": "39.781721",
        "longitude": "-89.650148",
        "notes": "",
    }


def state_entry(seed: SeedLocation) -> dict[str, Any]:
    """The mutable record the emulator keeps for a location."""
    return {
        "id": seed.id,
        "name": seed.name,
        "orgId": seed.org_id,
        "calling": seed.calling,
        "city": seed.city,
        "phone": seed.phone,
        "emergencyCallNotificationEnabled": seed.enabled,
        "emailAddress": seed.email,
        **seed.extra,
    }
