"""Pydantic models for what crosses an edge: webhooks, Webex resources, card submissions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    TypeAdapter,
    field_validator,
)

WEBHOOK_PATH = "/webhooks/webex"  # where Webex delivers: the one route the public port serves
CALLBACK_PATH = "/oauth/callback"  # where Webex sends the browser back after personal sign-in
PEER_HEADER = "X-Ecn-Peer"  # the browser's address, as the receiving process saw it
# The webhooks the bot registers, as (resource, event), and the events it handles.
WEBHOOKS: tuple[tuple[str, str], ...] = (
    ("messages", "created"),
    ("attachmentActions", "created"),
    ("memberships", "created"),
)
HANDLED_EVENTS = frozenset(f"{resource}/{event}" for resource, event in WEBHOOKS)


class _Webex(BaseModel):
    """Webex objects: unknown fields are kept out, never an error."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class MessageEventData(_Webex):
    id: str = Field(min_length=1)
    roomId: str = Field(min_length=1)
    roomType: str | None = None
    personId: str = Field(min_length=1)
    personEmail: str | None = None
    parentId: str | None = None
    created: datetime | None = None


class AttachmentActionEventData(_Webex):
    id: str = Field(min_length=1)
    type: str | None = None
    messageId: str | None = None
    personId: str = Field(min_length=1)
    roomId: str = Field(min_length=1)
    created: datetime | None = None


class MembershipEventData(_Webex):
    id: str = Field(min_length=1)
    roomId: str = Field(min_length=1)
    personId: str = Field(min_length=1)
    personEmail: str | None = None
    personOrgId: str | None = None
    created: datetime | None = None


class Envelope(_Webex):
    """The body Webex POSTs to the webhook target."""

    id: str | None = None
    name: str | None = None
    resource: str = Field(min_length=1, max_length=64)
    event: str = Field(min_length=1, max_length=64)
    orgId: str | None = None
    createdBy: str | None = None
    appId: str | None = None
    actorId: str | None = None
    data: dict[str, Any]

    @property
    def data_id(self) -> str | None:
        """`data.id` when it looks like a Webex id (printable, at most 200 characters)."""
        value = self.data.get("id")
        if isinstance(value, str) and 0 < len(value) <= 200 and value.isprintable():
            return value
        return None

    @property
    def kind(self) -> str:
        return f"{self.resource}/{self.event}"

    @property
    def key(self) -> str:
        """What makes two deliveries the same event: resource and data.id."""
        return f"{self.resource}:{self.data_id}"


class Message(_Webex):
    id: str
    roomId: str
    roomType: str | None = None
    text: str | None = None
    html: str | None = None
    markdown: str | None = None
    personId: str
    personEmail: str | None = None
    mentionedPeople: tuple[str, ...] = ()
    parentId: str | None = None
    created: datetime | None = None


class AttachmentAction(_Webex):
    id: str
    type: str | None = None
    messageId: str
    personId: str
    roomId: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    created: datetime | None = None


class Person(_Webex):
    id: str
    emails: tuple[str, ...] = ()
    displayName: str | None = None
    orgId: str | None = None
    roles: tuple[str, ...] = ()
    type: str | None = None

    @property
    def email(self) -> str | None:
        return self.emails[0] if self.emails else None

    @property
    def label(self) -> str:
        """How a person is named in replies and the audit trail."""
        name = self.displayName or self.email or "someone"
        return f"{name} ({self.email})" if self.email and self.displayName else name


class Role(_Webex):
    id: str
    name: str


class Organization(_Webex):
    id: str
    displayName: str | None = None


class NotificationSetting(_Webex):
    """The organization-level emergency call notification setting, as Webex spells it."""

    enabled: bool = Field(alias="emergencyCallNotificationEnabled")
    all_locations: bool = Field(default=False, alias="allowEmailNotificationAllLocationEnabled")
    email: str | None = Field(default=None, alias="emailAddress")

    @field_validator("email", mode="before")
    @classmethod
    def _no_address(cls, value: Any) -> Any:
        """Webex says "no address" as "" or by leaving it out: one value for both."""
        return value or None

    def to_webex(self) -> dict[str, Any]:
        """All three fields, always: an omitted one may be reset by Webex."""
        return {
            "emergencyCallNotificationEnabled": self.enabled,
            "allowEmailNotificationAllLocationEnabled": self.all_locations,
            "emailAddress": self.email or "",
        }

    def changed(self, **fields: Any) -> NotificationSetting:
        return self.model_copy(update=fields)


EMAIL = TypeAdapter(EmailStr)


def _toggle(value: Any) -> Any:
    """Webex sends Input.Toggle values as the strings "true"/"false"."""
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return value


Toggle = Annotated[bool, BeforeValidator(_toggle)]
Token = Annotated[str, Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")]


class _CardAction(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=False)


class SaveSettings(_CardAction):
    action: Literal["save_settings"]
    token: Token
    enabled: Toggle
    email: Annotated[str, BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v)]
    allLocations: Toggle = False


class SaveLocation(_CardAction):
    """The location form's Save: the location's own toggle and address."""

    action: Literal["save_location"]
    token: Token
    enabled: Toggle
    email: Annotated[str, BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v)]


class ConfirmDisable(_CardAction):
    action: Literal["confirm_disable"]
    token: Token


class CancelCard(_CardAction):
    action: Literal["cancel"]
    token: Token


class RestoreChange(_CardAction):
    """Restore on a watch alert: put back the value before the change it reports."""

    action: Literal["watch_restore"]
    token: Token


MenuAction = Literal["status", "edit", "whoami", "help", "history"]
MENU_ACTIONS: tuple[str, ...] = get_args(MenuAction)


class ShowCommand(_CardAction):
    """A button that runs the text command of the same name (status, edit, whoami, …)."""

    action: MenuAction
    token: Token | None = None


CardSubmission = Annotated[
    SaveSettings | SaveLocation | ConfirmDisable | CancelCard | RestoreChange | ShowCommand,
    Field(discriminator="action"),
]
CARD_SUBMISSION = TypeAdapter(CardSubmission)
