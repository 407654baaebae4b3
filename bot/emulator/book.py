"""Test and demo helpers for locations: look up, change, delete, assign, as Control Hub would."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.emulator.locations import LOCATION_ADMIN, LOCATION_FIELDS
from bot.emulator.places import MAX_ASSIGNED
from bot.emulator.state import State


class Places:
    """Test and demo helpers: look up, change, add and delete locations as Control Hub would."""

    def __init__(self, state: State) -> None:
        self._state = state

    def find(self, name_or_id: str) -> dict[str, Any]:
        """The location with this id or exact name."""
        places = self._state.locations
        if name_or_id in places:
            return places[name_or_id]
        return next(p for p in places.values() if p["name"] == name_or_id)

    def set(self, name_or_id: str, **fields: Any) -> None:
        """Change a location's own setting (or its name) without any checks."""
        unknown = set(fields) - {*LOCATION_FIELDS, "name", "calling"}
        if unknown:
            raise KeyError(f"unknown location fields: {sorted(unknown)}")
        self.find(name_or_id).update(fields)

    def delete(self, name_or_id: str) -> None:
        """Remove a location: it leaves both lists and its setting answers 404."""
        del self._state.locations[self.find(name_or_id)["id"]]

    def assign(self, person_id: str, location_ids: Sequence[str]) -> None:
        """Make a person a location administrator of these locations (at most five)."""
        if len(location_ids) > MAX_ASSIGNED:
            raise ValueError(f"a location administrator has at most {MAX_ASSIGNED} locations")
        who = self._state.people[person_id]
        who.locations = tuple(location_ids)
        who.roles = tuple({*who.roles, LOCATION_ADMIN})

    @property
    def page_cap(self) -> int | None:
        """At most this many locations per page whatever `max` asks (None: no cap)."""
        return self._state.location_page_cap

    @page_cap.setter
    def page_cap(self, size: int | None) -> None:
        self._state.location_page_cap = size
