"""Webhook signature verification and the permission rule Webex applies to the API itself."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from bot.models import Person

SIGNATURE_HEADER = "X-Spark-Signature"

CHANGE_ROLES = frozenset({"Full Administrator", "User Administrator"})
READ_ROLES = CHANGE_ROLES | {"Read-only Administrator"}
# Webex lets a location administrator change their (at most five) locations, but a Service App
# cannot read which ones: the bot refuses them rather than guess (fail closed).
LOCATION_ADMIN = "Location Administrator"


def verify_signature(secret: bytes, body: bytes, signature: str | None) -> bool:
    """True when `signature` is the lowercase hex HMAC-SHA1 of the raw body; constant time."""
    if not signature or not secret:
        return False
    expected = hmac.new(secret, body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8"))


def sign(secret: bytes, body: bytes) -> str:
    """The signature Webex sends for `body` (for the emulator and tests)."""
    return hmac.new(secret, body, hashlib.sha1).hexdigest()


class Permission(IntEnum):
    """What a command or card action needs; a person holds the highest level their roles give."""

    ANYONE = 0
    READ = 1
    CHANGE = 2

    @property
    def description(self) -> str:
        return {
            Permission.ANYONE: "anyone",
            Permission.READ: "a Full, User or Read-only Administrator",
            Permission.CHANGE: "a Full or User Administrator",
        }[self]


@dataclass(frozen=True)
class Access:
    """A person as the permission rule sees them, for one target organization."""

    person: Person
    role_names: tuple[str, ...]
    level: Permission
    same_org: bool

    def allows(self, needed: Permission) -> bool:
        return self.level >= needed

    @property
    def location_admin(self) -> bool:
        """A Location Administrator of the target organization (and nothing more)."""
        return (self.same_org and LOCATION_ADMIN in self.role_names
                and not READ_ROLES.intersection(self.role_names))

    def refusal(self, needed: Permission, org_name: str) -> str:
        """Why `needed` is refused, in words for the person."""
        if not self.same_org:
            return (
                f"Only administrators of {org_name} may do this, and your account belongs to "
                "another organization."
            )
        if LOCATION_ADMIN in self.role_names and not READ_ROLES.intersection(self.role_names):
            return (
                f"You are a Location Administrator. With the Service App this bot uses, Webex "
                f"does not say which locations are assigned to you, so I do not act for "
                f"Location Administrators. A Full or User Administrator of {org_name} can do "
                f"this here, or you can change your locations in Control Hub."
            )
        held = ", ".join(self.role_names) if self.role_names else "no administrator role"
        return f"This needs {needed.description} of {org_name}; you have {held}."


def access_for(person: Person, role_names: Iterable[str], target_org: str) -> Access:
    """The rule: changes need Full/User Administrator, reading adds Read-only, of the target org."""
    names = tuple(sorted(set(role_names)))
    same_org = person.orgId == target_org
    level = Permission.ANYONE
    if same_org and CHANGE_ROLES.intersection(names):
        level = Permission.CHANGE
    elif same_org and READ_ROLES.intersection(names):
        level = Permission.READ
    return Access(person=person, role_names=names, level=level, same_org=same_org)
