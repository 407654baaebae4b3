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


class ControlHubSetting(_Input):
    """The organization's setting as Control Hub's form sends it."""

    enabled: bool
    email: EmailStr | None = None
    all_locations: bool = Field(alias="allLocations")

    @field_validator("email", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _address_when_on(self) -> ControlHubSetting:
        if self.enabled and not self.email:
            raise ValueError("an email address is required when notifications are on")
        return self

    def fields(self) -> dict[str, Any]:
        """The emulator's field names."""
        return {
            "emergencyCallNotificationEnabled": self.enabled,
            "allowEmailNotificationAllLocationEnabled": self.all_locations,
            "emailAddress": str(self.email or ""),
        }
