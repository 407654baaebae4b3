"""The current shape of the tables; migrations.py is how a database gets here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on both engines (SQLite stores naive UTC text)."""

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store takes timezone-aware datetimes only")
        value = value.astimezone(UTC)
        # SQLite compares these as text: naive UTC in one fixed format sorts correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at", UTCDateTime(), nullable=False),
)

inbox_events = Table(
    "inbox_events",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("resource", String(64), nullable=False),
    Column("event", String(64), nullable=False),
    Column("body", JSON, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("state", String(16), nullable=False, default="pending"),
    Column("owner", String(255)),
    Column("lease_until", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("detail", Text),
    Index("ix_inbox_events_state_received", "state", "received_at"),  # v2
)

inbox_steps = Table(
    "inbox_steps",
    metadata,
    Column("event_key", String(255), primary_key=True),
    Column("step", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", UTCDateTime(), nullable=False),
    Column("event_key", String(255)),
    Column("org_id", String(255), nullable=False),
    Column("person_id", String(255), nullable=False),
    Column("person_email", String(320)),
    Column("room_id", String(255)),
    Column("source", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text),
    Column("tracking_id", String(255)),
    Column("target_type", String(16), nullable=False, server_default="organization"),  # v4
    Column("target_id", String(255)),  # v4
    Column("target_name", String(255)),  # v4
    Column("acted_with", String(16)),  # v5: "service-app" or "admin" (the admin's own token)
    Column("repeats", Integer),  # v7: the same refusal again within its window, counted here
    # Several NULLs are allowed by a plain UNIQUE on both engines.
    UniqueConstraint("event_key", name="uq_audit_log_event_key"),
    Index("ix_audit_log_org_at", "org_id", "at"),
    Index("ix_audit_log_target_at", "target_id", "at"),  # v4
)

card_tokens = Table(
    "card_tokens",
    metadata,
    Column("token", String(255), primary_key=True),
    Column("org_id", String(255), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("person_id", String(255)),
    Column("room_id", String(255), nullable=False),
    Column("message_id", String(255)),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
    Column("used_by", String(255)),
    Column("used_event", String(512)),  # v3
    Index("ix_card_tokens_expires_at", "expires_at"),  # v2
)

secrets = Table(  # v2
    "secrets",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

person_tokens = Table(  # v5
    "person_tokens",
    metadata,
    Column("person_id", String(255), primary_key=True),
    Column("org_id", String(255), nullable=False),
    Column("sealed", Text, nullable=False),  # the access and refresh tokens, sealed
    Column("access_expires_at", UTCDateTime(), nullable=False),
    Column("refresh_expires_at", UTCDateTime()),
    Column("signed_in_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

sign_in_states = Table(  # v5
    "sign_in_states",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("secret_hash", String(64), nullable=False),  # SHA-256 of the state's secret half
    Column("person_id", String(255), nullable=False),
    Column("room_id", String(255)),
    Column("verifier", Text, nullable=False),  # the PKCE verifier, sealed
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
    Index("ix_sign_in_states_expires_at", "expires_at"),
)

owned_webhooks = Table(  # v6
    "owned_webhooks",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("resource", String(64), nullable=False),
    Column("event", String(64), nullable=False),
    Column("target_url", Text, nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
)

rate_buckets = Table(  # v7: per-person command limits every replica shares
    "rate_buckets",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("notified_at", UTCDateTime()),
)

repeats = Table(  # v7: a repeated event counted once per window (refused card presses)
    "repeats",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("since", UTCDateTime(), nullable=False),
    Column("count", Integer, nullable=False),
    Column("audit_id", BigInteger().with_variant(Integer, "sqlite")),
)

watch_spaces = Table(  # v8: the spaces that receive the organization's changes
    "watch_spaces",
    metadata,
    Column("org_id", String(255), primary_key=True),
    Column("room_id", String(255), primary_key=True),
    Column("person_id", String(255), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

watch_state = Table(  # v8: per organization, what the watch last saw and how checks go
    "watch_state",
    metadata,
    Column("org_id", String(255), primary_key=True),
    Column("version", Integer, nullable=False),  # compare-and-set guard for each save
    Column("snapshot", JSON),  # None until the first good check
    Column("seen_at", UTCDateTime()),
    Column("checked_at", UTCDateTime()),
    Column("outcome", String(16)),
    Column("failures", Integer, nullable=False),  # failed checks in a row
    Column("failing_notified", Integer, nullable=False),  # 1 once "cannot check" is out
    Column("detail", Text),
)

watch_changes = Table(  # v8: each change found (and each cannot-check notice), once
    "watch_changes",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("org_id", String(255), nullable=False),
    Column("detected_at", UTCDateTime(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("body", JSON, nullable=False),
)

watch_posts = Table(  # v8: one card per change per watching space
    "watch_posts",
    metadata,
    Column("change_id", BigInteger, primary_key=True),
    Column("room_id", String(255), primary_key=True),
    Column("org_id", String(255), nullable=False),
    Column("state", String(16), nullable=False),  # pending | posted | gone
    Column("message_id", String(255)),
    Column("attempts", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_watch_posts_org_state", "org_id", "state"),
)

own_messages = Table(  # v9: Webex's notices of the bot's own group messages: ids only, no text
    "own_messages",
    metadata,
    Column("message_id", String(255), primary_key=True),
    Column("room_id", String(255), nullable=False),
    Column("parent_id", String(255)),
    Column("created", UTCDateTime(), nullable=False),
    Index("ix_own_messages_room_created", "room_id", "created"),
)
