"""Versioned schema migrations: a small runner, one transaction, one migrator at a time.

Each migration is history: it describes the tables as they were at that version and must
never be edited once released; change the schema by appending a migration (and updating
schema.py, which a test checks against the migrated database).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .schema import UTCDateTime, schema_version

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key shared by every process migrating the same database.
MIGRATION_LOCK_KEY = 0x45434E5F4D494752  # "ECN_MIGR"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[AsyncConnection], Awaitable[None]]


def _v1_tables(sync_conn: Connection) -> None:
    md = MetaData()
    Table(
        "inbox_events", md,
        Column("key", String(255), primary_key=True),
        Column("resource", String(64), nullable=False),
        Column("event", String(64), nullable=False),
        Column("body", JSON, nullable=False),
        Column("received_at", UTCDateTime(), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("state", String(16), nullable=False),
        Column("owner", String(255)),
        Column("lease_until", UTCDateTime()),
        Column("finished_at", UTCDateTime()),
        Column("detail", Text),
    )  # fmt: skip
    Table(
        "inbox_steps", md,
        Column("event_key", String(255), primary_key=True),
        Column("step", String(64), primary_key=True),
        Column("value", JSON, nullable=False),
        Column("at", UTCDateTime(), nullable=False),
    )  # fmt: skip
    Table(
        "audit_log", md,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
               autoincrement=True),
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
        UniqueConstraint("event_key", name="uq_audit_log_event_key"),
        Index("ix_audit_log_org_at", "org_id", "at"),
    )  # fmt: skip
    Table(
        "card_tokens", md,
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
    )  # fmt: skip
    md.create_all(sync_conn)


async def _v1(conn: AsyncConnection) -> None:
    await conn.run_sync(_v1_tables)


def _v2_secrets(sync_conn: Connection) -> None:
    md = MetaData()
    Table(
        "secrets", md,
        Column("name", String(255), primary_key=True),
        Column("value", Text, nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
    )  # fmt: skip
    md.create_all(sync_conn)


async def _v2(conn: AsyncConnection) -> None:
    await conn.run_sync(_v2_secrets)
    # The sweeper's queries (claimable / expire / prune) and token pruning.
    await conn.execute(
        text("CREATE INDEX ix_inbox_events_state_received ON inbox_events (state, received_at)")
    )
    await conn.execute(text("CREATE INDEX ix_card_tokens_expires_at ON card_tokens (expires_at)"))


async def _v3(conn: AsyncConnection) -> None:
    await conn.execute(text("ALTER TABLE card_tokens ADD COLUMN used_event VARCHAR(512)"))


async def _v4(conn: AsyncConnection) -> None:
    for column in (
        "target_type VARCHAR(16) DEFAULT 'organization' NOT NULL",
        "target_id VARCHAR(255)",
        "target_name VARCHAR(255)",
    ):
        await conn.execute(text(f"ALTER TABLE audit_log ADD COLUMN {column}"))
    # Every row so far was a change of the organization's own setting.
    await conn.execute(text("UPDATE audit_log SET target_id = org_id"))
    await conn.execute(text("CREATE INDEX ix_audit_log_target_at ON audit_log (target_id, at)"))


def _v5_sign_in(sync_conn: Connection) -> None:
    md = MetaData()
    Table(
        "person_tokens", md,
        Column("person_id", String(255), primary_key=True),
        Column("org_id", String(255), nullable=False),
        Column("sealed", Text, nullable=False),
        Column("access_expires_at", UTCDateTime(), nullable=False),
        Column("refresh_expires_at", UTCDateTime()),
        Column("signed_in_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
    )  # fmt: skip
    Table(
        "sign_in_states", md,
        Column("id", String(64), primary_key=True),
        Column("secret_hash", String(64), nullable=False),
        Column("person_id", String(255), nullable=False),
        Column("room_id", String(255)),
        Column("verifier", Text, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("expires_at", UTCDateTime(), nullable=False),
        Column("used_at", UTCDateTime()),
        Index("ix_sign_in_states_expires_at", "expires_at"),
    )  # fmt: skip
    md.create_all(sync_conn)


def _v8_watch_tables(sync_conn: Connection) -> None:
    md = MetaData()
    Table(
        "watch_spaces", md,
        Column("org_id", String(255), primary_key=True),
        Column("room_id", String(255), primary_key=True),
        Column("person_id", String(255), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
    )  # fmt: skip
    Table(
        "watch_state", md,
        Column("org_id", String(255), primary_key=True),
        Column("version", Integer, nullable=False),
        Column("snapshot", JSON),
        Column("seen_at", UTCDateTime()),
        Column("checked_at", UTCDateTime()),
        Column("outcome", String(16)),
        Column("failures", Integer, nullable=False),
        Column("failing_notified", Integer, nullable=False),
        Column("detail", Text),
    )  # fmt: skip
    Table(
        "watch_changes", md,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
               autoincrement=True),
        Column("org_id", String(255), nullable=False),
        Column("detected_at", UTCDateTime(), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("body", JSON, nullable=False),
    )  # fmt: skip
    Table(
        "watch_posts", md,
        Column("change_id", BigInteger, primary_key=True),
        Column("room_id", String(255), primary_key=True),
        Column("org_id", String(255), nullable=False),
        Column("state", String(16), nullable=False),
        Column("message_id", String(255)),
        Column("attempts", Integer, nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
        Index("ix_watch_posts_org_state", "org_id", "state"),
    )  # fmt: skip
    md.create_all(sync_conn)


async def _v5(conn: AsyncConnection) -> None:
    await conn.run_sync(_v5_sign_in)
    # Which token made the change: "service-app" or "admin" (the admin's own sign-in).
    await conn.execute(text("ALTER TABLE audit_log ADD COLUMN acted_with VARCHAR(16)"))


def _v6_owned_webhooks(sync_conn: Connection) -> None:
    md = MetaData()
    Table(
        "owned_webhooks", md,
        Column("id", String(255), primary_key=True),
        Column("resource", String(64), nullable=False),
        Column("event", String(64), nullable=False),
        Column("target_url", Text, nullable=False),
        Column("recorded_at", UTCDateTime(), nullable=False),
    )  # fmt: skip
    md.create_all(sync_conn)


async def _v6(conn: AsyncConnection) -> None:
    await conn.run_sync(_v6_owned_webhooks)


def _v7_rates(sync_conn: Connection) -> None:
    md = MetaData()
    Table(
        "rate_buckets", md,
        Column("key", String(255), primary_key=True),
        Column("tokens", Float, nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
        Column("notified_at", UTCDateTime()),
    )  # fmt: skip
    Table(
        "repeats", md,
        Column("key", String(512), primary_key=True),
        Column("since", UTCDateTime(), nullable=False),
        Column("count", Integer, nullable=False),
        Column("audit_id", BigInteger().with_variant(Integer, "sqlite")),
    )  # fmt: skip
    md.create_all(sync_conn)


async def _v7(conn: AsyncConnection) -> None:
    await conn.run_sync(_v7_rates)
    await conn.execute(text("ALTER TABLE audit_log ADD COLUMN repeats INTEGER"))


async def _v8(conn: AsyncConnection) -> None:
    await conn.run_sync(_v8_watch_tables)


def _v9_own_messages(sync_conn: Connection) -> None:
    md = MetaData()
    Table(
        "own_messages", md,
        Column("message_id", String(255), primary_key=True),
        Column("room_id", String(255), nullable=False),
        Column("parent_id", String(255)),
        Column("created", UTCDateTime(), nullable=False),
        Index("ix_own_messages_room_created", "room_id", "created"),
    )  # fmt: skip
    md.create_all(sync_conn)


async def _v9(conn: AsyncConnection) -> None:
    await conn.run_sync(_v9_own_messages)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "inbox, audit trail, card tokens", _v1),
    Migration(2, "secrets table; indexes for the inbox sweeper and token pruning", _v2),
    Migration(3, "card_tokens.used_event: a press cut by a crash resumes with its token", _v3),
    Migration(4, "audit_log.target_type, target_id, target_name: changes of a location", _v4),
    Migration(5, "personal sign-in: sealed tokens, sign-in states, audit_log.acted_with", _v5),
    Migration(6, "owned_webhooks: the webhooks this deployment created, by id", _v6),
    Migration(7, "rate limits shared by replicas; audit_log.repeats counts a repeated refusal",
              _v7),
    Migration(8, "the watch: watching spaces, the last state seen, changes and their posts", _v8),
    Migration(9, "own_messages: ids of the bot's own group messages, to find a reply cut off",
              _v9),
)
LATEST_VERSION = MIGRATIONS[-1].version


async def current_version(conn: AsyncConnection) -> int:
    """The highest applied version, 0 for an empty database."""
    exists = await conn.run_sync(lambda c: c.dialect.has_table(c, "schema_version"))
    if not exists:
        return 0
    version = (await conn.execute(select(func.max(schema_version.c.version)))).scalar()
    return int(version or 0)


async def run_migrations(engine: AsyncEngine, *, target: int | None = None) -> list[int]:
    """Apply the missing migrations up to target (default: latest); returns versions applied."""
    target = LATEST_VERSION if target is None else target
    if not 0 <= target <= LATEST_VERSION:
        raise ValueError(f"no migration to version {target}; latest is {LATEST_VERSION}")
    applied: list[int] = []
    # One transaction: all of it or none. Concurrency: on PostgreSQL the advisory lock;
    # on SQLite every transaction of ours is BEGIN IMMEDIATE, which takes the write lock.
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        await conn.run_sync(lambda c: schema_version.create(c, checkfirst=True))
        current = await current_version(conn)
        if current > LATEST_VERSION:
            raise RuntimeError(
                f"database schema is v{current}, newer than this code (v{LATEST_VERSION})"
            )
        for migration in MIGRATIONS:
            if current < migration.version <= target:
                await migration.apply(conn)
                await conn.execute(
                    insert(schema_version).values(
                        version=migration.version,
                        description=migration.description,
                        applied_at=datetime.now(UTC),
                    )
                )
                applied.append(migration.version)
                log.info("applied migration v%d: %s", migration.version, migration.description)
    return applied
