"""A larger cast for load: many administrators, each with a group space of their own."""

from __future__ import annotations

import dataclasses
import hashlib
from types import MappingProxyType

from bot.emulator import Seed, SeedPerson
from bot.emulator.ids import stable_id


def admin_name(i: int) -> str:
    return f"admin{i:03d}"


def space_name(i: int) -> str:
    return f"space{i:03d}"


def load_seed(admins: int = 40) -> Seed:
    """The default seed plus `admins` Full Administrators of the main org, each in a group
    space `spaceNNN` with the bot (replies land in the command's thread there, so every reply
    names its command by parentId)."""
    base = Seed.default()
    full = base.roles["id_full_admin"]
    people = dict(base.people)
    rooms, titles, members = dict(base.rooms), dict(base.room_titles), dict(base.room_members)
    for i in range(admins):
        name = admin_name(i)
        token = hashlib.sha256(f"load-token:{name}".encode()).hexdigest()
        people[name] = SeedPerson(
            stable_id("PEOPLE", name), f"{name}@acme.example", f"Admin {i:03d}", base.org_id,
            (full,), token,
        )
        space = space_name(i)
        rooms[space] = stable_id("ROOM", space)
        titles[space] = f"Load space {i:03d}"
        members[space] = (name, "bot")
    return dataclasses.replace(
        base, people=MappingProxyType(people), rooms=MappingProxyType(rooms),
        room_titles=MappingProxyType(titles), room_members=MappingProxyType(members),
    )
