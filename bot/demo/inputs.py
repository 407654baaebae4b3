"""What the console's page may ask for, checked at the edge: say, press, a Control Hub change."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

MAX_TEXT_BYTES = 7439  # Webex's limit for a message's text


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)


class Say(_Input):
    """A message typed by a person; no room means the 1:1 space with the bot (made if missing)."""

    person: str
    room_id: str | None = Field(default=None, alias="roomId")
    text: str = Field(min_length=1)

    @model_validator(mode="after")
    def _short_enough(self) -> Say:
        if len(self.text.encode()) > MAX_TEXT_BYTES:
            raise ValueError(f"a message holds at most {MAX_TEXT_BYTES} bytes")
        return self


class Press(_Input):
    """A card's Submit pressed: the inputs and the action's data, merged as the renderer does."""

    person: str
    message_id: str = Field(alias="messageId", min_length=1)
    inputs: dict[str, Any]


class ControlHubChange(_Input):
    """A setting changed in Control Hub by a person: the organization's, or one location's.

    Whether that person may, and whether an address is needed, is Control Hub's (the
    emulator's) to say, as it is in Webex.
    """

    person: str
    location: str | None = None  # a location's id; None: the organization
    enabled: bool
    email: EmailStr | None = None
    all_locations: bool | None = Field(default=None, alias="allLocations")

    @field_validator("email", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _all_locations_is_the_organizations(self) -> ControlHubChange:
        if self.location is None and self.all_locations is None:
            raise ValueError("allLocations is required for the organization's setting")
        if self.location is not None and self.all_locations is not None:
            raise ValueError("allLocations is the organization's setting, not a location's")
        return self

    def body(self) -> dict[str, Any]:
        """The body of the emulator's /_emulator/controlhub request."""
        fields: dict[str, Any] = {
            "admin": self.person,
            "emergencyCallNotificationEnabled": self.enabled,
            "emailAddress": str(self.email or ""),
        }
        if self.location is None:
            fields["allowEmailNotificationAllLocationEnabled"] = self.all_locations
        else:
            fields["location"] = self.location
        return fields
