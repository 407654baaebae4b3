"""The emulator's fixed cast: organizations, roles, people, the bot, the service apps and rooms."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from bot.emulator.ids import decode_id, encode_id, stable_id
from bot.emulator.places import MAX_ASSIGNED, SeedLocation, demo_locations, numbered_locations

ROLE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "id_full_admin": "Full Administrator",
        "id_user_admin": "User Administrator",
        "id_readonly_admin": "Read-only Administrator",
        "id_support_admin": "Support Administrator",
        "id_device_admin": "Device Administrator",
        "id_compliance_officer": "Compliance Officer",
        "id_location_admin": "Location Administrator",
    }
)


def role_id(key: str) -> str:
    """Return the opaque id of a role such as id_full_admin."""
    return encode_id("ROLE", key)


def _token(name: str, org_id: str) -> str:
    """Return a deterministic token shaped like Webex's (<hex>_PF84_<org uuid>)."""
    digest = hashlib.sha256(f"emulator-token:{name}".encode()).hexdigest()
    decoded = decode_id(org_id)
    return f"{digest[:64]}_PF84_{decoded[1] if decoded else org_id}"


@dataclass(frozen=True)
class SeedPerson:
    """A person (or machine identity) the emulator knows, with a personal access token."""

    id: str
    email: str
    display_name: str
    org_id: str
    roles: tuple[str, ...]
    token: str
    kind: str = "person"
    locations: tuple[str, ...] = ()  # the locations a location administrator is assigned

    def __post_init__(self) -> None:
        if len(self.locations) > MAX_ASSIGNED:
            raise ValueError(f"a location administrator has at most {MAX_ASSIGNED} locations")


@dataclass(frozen=True)
class Seed:
    """Deterministic ids, tokens and names the emulator starts from."""

    org_id: str
    org_name: str
    other_org_id: str
    other_org_name: str
    roles: Mapping[str, str]
    people: Mapping[str, SeedPerson]
    bot_id: str
    bot_name: str
    bot_email: str
    bot_token: str
    bot_app_id: str
    admin_app: SeedPerson
    admin_app_id: str
    admin_token: str
    other_admin_app: SeedPerson
    other_admin_token: str
    client_id: str
    client_secret: str
    admin_refresh_token: str
    rooms: Mapping[str, str]
    room_titles: Mapping[str, str]
    room_members: Mapping[str, tuple[str, ...]]
    location_id: str
    other_location_id: str
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    locations: tuple[SeedLocation, ...] = ()
    # The Webex Integration people authorize for personal sign-in (OAuth authorization code).
    integration_client_id: str = "C" + hashlib.sha256(b"emulator-integration-id").hexdigest()
    integration_client_secret: str = hashlib.sha256(b"emulator-integration-secret").hexdigest()

    @property
    def bot(self) -> SeedPerson:
        """The bot as a SeedPerson."""
        return SeedPerson(
            self.bot_id, self.bot_email, self.bot_name, self.org_id, (), self.bot_token, "bot"
        )

    @classmethod
    def default(cls) -> Seed:
        """Return the standard cast: Acme Health, Globex Clinics, seven people, Kari Bot."""
        org = stable_id("ORGANIZATION", "acme-health")
        other = stable_id("ORGANIZATION", "globex-clinics")
        full, user, ro, sup = (
            role_id(k)
            for k in ("id_full_admin", "id_user_admin", "id_readonly_admin", "id_support_admin")
        )
        cast = {
            "alice": ("Alice Adams", "alice@acme.example", org, (full,)),
            "uma": ("Uma Underwood", "uma@acme.example", org, (user,)),
            "rita": ("Rita Reyes", "rita@acme.example", org, (ro,)),
            "bob": ("Bob Brown", "bob@acme.example", org, ()),
            "sam": ("Sam Support", "sam@acme.example", org, (sup,)),
            "eve": ("Eve Evans", "eve@globex.example", other, (full,)),
            "lou": ("Lou Lopez", "lou@acme.example", org, (role_id("id_location_admin"),)),
        }
        places = demo_locations(org, other)
        assigned = {"lou": (places[1].id, places[2].id)}  # Riverside and Northgate
        people = {
            name: SeedPerson(
                stable_id("PEOPLE", name), email, display, org_id, roles, _token(name, org_id),
                locations=assigned.get(name, ()),
            )
            for name, (display, email, org_id, roles) in cast.items()
        }
        bot_id = stable_id("PEOPLE", "kari-bot")
        admin_app = SeedPerson(
            stable_id("PEOPLE", "acme-service-app"),
            "kari-admin-app@acme.example.appuser",
            "Kari Admin Service App",
            org,
            (),
            _token("acme-service-app", org),
            "app",
        )
        other_app = SeedPerson(
            stable_id("PEOPLE", "globex-service-app"),
            "kari-admin-app@globex.example.appuser",
            "Kari Admin Service App",
            other,
            (),
            _token("globex-service-app", other),
            "app",
        )
        directs = {
            f"direct_{n}": ("", (n, "bot")) for n in ("alice", "bob", "rita", "uma", "eve", "lou")
        }
        groups = {
            "group": ("Acme Ops", ("bot", "alice", "uma", "rita", "bob", "eve")),
            "lobby": ("Acme Lobby", ("alice", "bob")),
        }
        all_rooms = {**directs, **groups}
        acme_setting = {
            "emergencyCallNotificationEnabled": False,
            "allowEmailNotificationAllLocationEnabled": False,
            "emailAddress": "security@acme.example",
        }
        globex_setting = {**acme_setting, "emailAddress": ""}
        return cls(
            org_id=org,
            org_name="Acme Health",
            other_org_id=other,
            other_org_name="Globex Clinics",
            roles=MappingProxyType({k: role_id(k) for k in ROLE_NAMES}),
            people=MappingProxyType(people),
            bot_id=bot_id,
            bot_name="Kari Bot",
            bot_email="kari-bot@webex.bot",
            bot_token=_token("kari-bot", org),
            bot_app_id=stable_id("APPLICATION", "kari-bot"),
            admin_app=admin_app,
            admin_app_id=stable_id("APPLICATION", "acme-service-app"),
            admin_token=admin_app.token,
            other_admin_app=other_app,
            other_admin_token=other_app.token,
            client_id="C" + hashlib.sha256(b"emulator-client-id").hexdigest(),
            client_secret=hashlib.sha256(b"emulator-client-secret").hexdigest(),
            admin_refresh_token=_token("acme-service-app-refresh", org),
            rooms=MappingProxyType({name: stable_id("ROOM", name) for name in all_rooms}),
            room_titles=MappingProxyType({name: title for name, (title, _) in all_rooms.items()}),
            room_members=MappingProxyType({name: m for name, (_, m) in all_rooms.items()}),
            location_id=stable_id("LOCATION", "acme-main"),
            other_location_id=stable_id("LOCATION", "globex-main"),
            settings=MappingProxyType({org: acme_setting, other: globex_setting}),
            locations=places,
        )

    def with_locations(self, count: int) -> Seed:
        """This seed with the main organization's locations replaced by `count` calling
        locations ("Site 0001"…; every tenth has its own address): the benchmark's large org."""
        others = tuple(p for p in self.locations if p.org_id != self.org_id)
        people = {n: replace(p, locations=()) for n, p in self.people.items()}
        places = numbered_locations(self.org_id, count)
        return replace(self, locations=places + others, people=MappingProxyType(people),
                       location_id=places[0].id if places else self.location_id)

    def to_json(self) -> dict[str, Any]:
        """Return the seed as JSON-ready data (ids, tokens, names) for out-of-process clients."""
        return {
            "orgId": self.org_id,
            "orgName": self.org_name,
            "otherOrgId": self.other_org_id,
            "otherOrgName": self.other_org_name,
            "roles": dict(self.roles),
            "people": {
                n: {
                    "id": p.id,
                    "email": p.email,
                    "displayName": p.display_name,
                    "orgId": p.org_id,
                    "roles": list(p.roles),
                    "token": p.token,
                }
                for n, p in self.people.items()
            },
            "bot": {
                "id": self.bot_id,
                "name": self.bot_name,
                "email": self.bot_email,
                "token": self.bot_token,
            },
            "adminToken": self.admin_token,
            "otherAdminToken": self.other_admin_token,
            "adminIdentityId": self.admin_app.id,
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "adminRefreshToken": self.admin_refresh_token,
            "integrationClientId": self.integration_client_id,
            "integrationClientSecret": self.integration_client_secret,
            "rooms": dict(self.rooms),
            "locationId": self.location_id,
            "otherLocationId": self.other_location_id,
            "locations": {p.name: p.id for p in self.locations},
        }
