"""The emulator's mutable in-memory world: people, tokens, rooms, messages, webhooks, settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.emulator.errors import ApiError
from bot.emulator.ids import IdFactory, iso, stable_id
from bot.emulator.places import state_entry
from bot.emulator.seed import Seed, SeedPerson, role_id

WRITE_ROLES = frozenset({role_id("id_full_admin"), role_id("id_user_admin")})
READ_ROLES = WRITE_ROLES | {role_id("id_readonly_admin")}
SEED_TIME = "2026-01-05T09:00:00.000Z"


@dataclass
class Identity:
    """Anyone who can hold a token: a person, the bot or a service app's machine account."""

    id: str
    email: str
    display_name: str
    org_id: str
    roles: tuple[str, ...] = ()
    kind: str = "person"
    app_id: str = ""
    locations: tuple[str, ...] = ()  # a location administrator's assigned locations

    @classmethod
    def from_seed(cls, person: SeedPerson, app_id: str) -> Identity:
        """Build an identity from a seed person."""
        return cls(
            person.id,
            person.email,
            person.display_name,
            person.org_id,
            person.roles,
            person.kind,
            app_id,
            person.locations,
        )


@dataclass
class Token:
    """An access token: whose it is and when it stops working (None: never)."""

    identity_id: str
    expires_at: float | None = None
    client_id: str = ""  # the OAuth client it was issued to ("" for seeded tokens)


@dataclass
class RefreshToken:
    """A refresh token of a service app or of a person who authorized an integration."""

    identity_id: str
    client_id: str
    revoked: bool = False
    expires_at: float | None = None


@dataclass
class AuthCode:
    """An authorization code a person's approval produced, redeemable once."""

    identity_id: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    expires_at: float
    used: bool = False


@dataclass(frozen=True)
class Event:
    """Something Webex would announce to webhooks: resource, event, actor, data and context."""

    resource: str
    event: str
    actor_id: str
    data: dict[str, Any]
    room_id: str
    mentioned: tuple[str, ...] = ()
    author_id: str = ""
    card_author_id: str = ""
    seq: int = 0


@dataclass
class State:
    """All mutable emulator data; tests may reach in to arrange unusual situations."""

    seed: Seed
    ids: IdFactory = field(default_factory=IdFactory)
    people: dict[str, Identity] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    auth_codes: dict[str, AuthCode] = field(default_factory=dict)
    orgs: dict[str, dict[str, Any]] = field(default_factory=dict)
    rooms: dict[str, dict[str, Any]] = field(default_factory=dict)
    memberships: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    locations: dict[str, dict[str, Any]] = field(default_factory=dict)
    edits: dict[str, int] = field(default_factory=dict)  # message id → times edited
    location_page_cap: int | None = None  # at most this many locations per page, whatever max
    webhook_failures: dict[str, list[float]] = field(default_factory=dict)
    admin_events: list[dict[str, Any]] = field(default_factory=list)  # the admin audit log
    audit_denied: set[str] = field(default_factory=set)  # identities without audit:events_read
    listeners: list[Callable[[Event], None]] = field(default_factory=list)
    access_token_ttl: int = 1_209_600
    refresh_token_ttl: int = 7_776_000
    seq: int = 0

    @classmethod
    def from_seed(cls, seed: Seed) -> State:
        """Return the world as the seed describes it."""
        state = cls(seed=seed)
        state.orgs[seed.org_id] = {
            "id": seed.org_id,
            "displayName": seed.org_name,
            "created": SEED_TIME,
        }
        state.orgs[seed.other_org_id] = {
            "id": seed.other_org_id,
            "displayName": seed.other_org_name,
            "created": SEED_TIME,
        }
        for name, person in seed.people.items():
            state._add_identity(
                Identity.from_seed(person, stable_id("APPLICATION", name)), person.token
            )
        state._add_identity(Identity.from_seed(seed.bot, seed.bot_app_id), seed.bot_token)
        state._add_identity(Identity.from_seed(seed.admin_app, seed.admin_app_id), seed.admin_token)
        state._add_identity(
            Identity.from_seed(
                seed.other_admin_app, stable_id("APPLICATION", "globex-service-app")
            ),
            seed.other_admin_token,
        )
        state.refresh_tokens[seed.admin_refresh_token] = RefreshToken(
            seed.admin_app.id, seed.client_id
        )
        names = {**{n: p.id for n, p in seed.people.items()}, "bot": seed.bot_id}
        for room, room_id in seed.rooms.items():
            direct = room.startswith("direct_")
            members = [names[m] for m in seed.room_members[room]]
            state.rooms[room_id] = {
                "id": room_id,
                "title": seed.room_titles[room] or seed.bot_name,
                "type": "direct" if direct else "group",
                "isLocked": False,
                "lastActivity": SEED_TIME,
                "creatorId": members[0],
                "created": SEED_TIME,
            }
            for member in members:
                state.add_membership(room_id, member, created=SEED_TIME)
        for org_id, setting in seed.settings.items():
            state.settings[org_id] = dict(setting)
        for place in seed.locations:
            state.locations[place.id] = state_entry(place)
        return state

    def _add_identity(self, identity: Identity, token: str) -> None:
        self.people[identity.id] = identity
        self.tokens[token] = Token(identity.id)

    def authenticate(self, token: str) -> Identity:
        """Return the token's identity or raise 401."""
        info = self.tokens.get(token)
        if info is None or (info.expires_at is not None and info.expires_at <= time.time()):
            raise ApiError(401)
        return self.people[info.identity_id]

    def person_by_email(self, email: str) -> Identity | None:
        """Return the identity with this email (case-insensitive), if any."""
        wanted = email.lower()
        return next((p for p in self.people.values() if p.email.lower() == wanted), None)

    def member_ids(self, room_id: str) -> list[str]:
        """Return the ids of a room's members."""
        return [m["personId"] for m in self.memberships.values() if m["roomId"] == room_id]

    def is_member(self, person_id: str, room_id: str) -> bool:
        """Return whether a person is a member of a room."""
        return person_id in self.member_ids(room_id)

    def add_membership(
        self, room_id: str, person_id: str, *, moderator: bool = False, created: str | None = None
    ) -> dict[str, Any]:
        """Add a member to a room and return the membership."""
        person, room = self.people[person_id], self.rooms[room_id]
        membership = {
            "id": self.ids.new("MEMBERSHIP"),
            "roomId": room_id,
            "personId": person_id,
            "personEmail": person.email,
            "personDisplayName": person.display_name,
            "personOrgId": person.org_id,
            "isModerator": moderator,
            "isMonitor": False,
            "isRoomHidden": False,
            "roomType": room["type"],
            "created": created or iso(),
        }
        self.memberships[membership["id"]] = membership
        return membership

    def direct_room(self, a: str, b: str) -> str:
        """Return the 1:1 room of two people, creating it if needed."""
        for room_id, room in self.rooms.items():
            if room["type"] == "direct" and set(self.member_ids(room_id)) == {a, b}:
                return room_id
        room_id = self.ids.new("ROOM")
        now = iso()
        self.rooms[room_id] = {
            "id": room_id,
            "title": self.people[b].display_name,
            "type": "direct",
            "isLocked": False,
            "lastActivity": now,
            "creatorId": a,
            "created": now,
        }
        self.add_membership(room_id, a)
        self.add_membership(room_id, b)
        return room_id

    def admin_level(self, identity: Identity, org_id: str) -> str | None:
        """Return "write", "read" or None: what an identity may do to an org's admin settings."""
        if identity.org_id != org_id or identity.kind == "bot":
            return None
        if identity.kind == "app" or WRITE_ROLES.intersection(identity.roles):
            return "write"
        return "read" if READ_ROLES.intersection(identity.roles) else None

    def person_json(self, person: Identity, viewer: Identity) -> dict[str, Any]:
        """Return a person as the viewer may see them (roles only for an admin of their org)."""
        body: dict[str, Any] = {
            "id": person.id,
            "emails": [person.email],
            "displayName": person.display_name,
            "orgId": person.org_id,
        }
        if viewer.org_id == person.org_id or viewer.id == person.id:
            first, _, last = person.display_name.partition(" ")
            body.update(
                {
                    "firstName": first,
                    "lastName": last,
                    "created": SEED_TIME,
                    "type": {"bot": "bot", "app": "appuser"}.get(person.kind, "person"),
                }
            )
        if self.admin_level(viewer, person.org_id) is not None:
            body["roles"] = list(person.roles)
            body["licenses"] = []
        return body

    def add_webhook(
        self,
        owner_id: str,
        name: str,
        target_url: str,
        resource: str,
        event: str,
        filter: str | None = None,
        secret: str | None = None,
    ) -> dict[str, Any]:
        """Create a webhook owned by an identity (the POST /webhooks path uses this too)."""
        owner = self.people[owner_id]
        hook: dict[str, Any] = {
            "id": self.ids.new("WEBHOOK"),
            "name": name,
            "targetUrl": target_url,
            "resource": resource,
            "event": event,
            "orgId": owner.org_id,
            "createdBy": owner.id,
            "appId": owner.app_id,
            "ownedBy": "creator",
            "status": "active",
            "created": iso(),
        }
        if filter:
            hook["filter"] = filter
        if secret:
            hook["secret"] = secret
        self.webhooks[hook["id"]] = hook
        return hook

    def set_webhook_status(self, webhook_id: str, status: str) -> None:
        """Mark a webhook active or inactive, as Webex's delivery machinery does."""
        self.webhooks[webhook_id]["status"] = status
        if status == "active":
            self.webhook_failures.pop(webhook_id, None)

    def emit(self, event: Event) -> None:
        """Tell listeners (webhook delivery, waiters) about an event."""
        self.seq += 1
        stamped = Event(**{**event.__dict__, "seq": self.seq})
        for listener in list(self.listeners):
            listener(stamped)
