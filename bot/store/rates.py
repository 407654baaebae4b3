"""Per-person rate limits every replica shares: token buckets, and repeats counted per window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from . import direct
from ._base import StoreBase
from .schema import rate_buckets, repeats


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_at: datetime | None = None  # refused: when one more is taken
    notify: bool = False  # refused, and the person was not told so in the last `notice_every`


@dataclass(frozen=True)
class Repeat:
    count: int  # how many times in this window, this one included: 1 opened the window
    since: datetime  # when the window opened
    audit_id: int | None  # the audit row written for the window's first, if any


def _locked(conn: Connection, stmt: Any) -> Any:
    """The row, locked against other replicas until the transaction ends (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


_READ = "SELECT tokens, updated_at, notified_at FROM rate_buckets WHERE key = ?"
_INSERT = ("INSERT INTO rate_buckets (key, tokens, updated_at) VALUES (?, ?, ?)"
           " ON CONFLICT (key) DO NOTHING")
_UPDATE = "UPDATE rate_buckets SET tokens = ?, updated_at = ?, notified_at = ? WHERE key = ?"


@dataclass(frozen=True)
class _Bucket:
    """One person's bucket, read and written on SQLite's own connection or through Core."""

    key: str
    core_read: Any
    core_insert: Any
    core_update: Any

    def read(self, conn: Connection) -> tuple[float, datetime, datetime | None] | None:
        """(tokens, updated_at, notified_at), or None for a new bucket."""
        if (raw := direct.driver(conn)) is None:
            row: Any = conn.execute(self.core_read, {"b_key": self.key}).first()
            return None if row is None else (row.tokens, row.updated_at, row.notified_at)
        found = direct.execute(raw, _READ, (self.key,)).fetchone()
        if found is None:
            return None
        updated_at = direct.read_stamp(found[1])
        assert updated_at is not None
        return float(found[0]), updated_at, direct.read_stamp(found[2])

    def insert(self, conn: Connection, tokens: float, at: datetime) -> bool:
        """A new bucket; False when another replica's came first."""
        return direct.write(conn, _INSERT, (self.key, tokens, direct.stamp(at)), self.core_insert,
                            {"key": self.key, "tokens": tokens, "updated_at": at}) == 1

    def update(self, conn: Connection, tokens: float, at: datetime,
               notified_at: datetime | None) -> None:
        direct.write(conn, _UPDATE, (tokens, direct.stamp(at), direct.stamp(notified_at),
                                     self.key),
                     self.core_update, {"b_key": self.key, "b_tokens": tokens, "b_at": at,
                                        "b_notified": notified_at})


class RateMixin(StoreBase):
    async def take_rate_token(
        self, key: str, now: datetime, *, burst: int, per_minute: float,
        notice_every: timedelta = timedelta(minutes=1),
    ) -> RateDecision:
        """Take one token from `key`'s bucket (`burst` deep, refilled at `per_minute`)."""
        rate = per_minute / 60.0
        bucket = self._bucket(key)

        def take(conn: Connection) -> RateDecision:
            row = bucket.read(conn)
            if row is None:  # a first command: a full bucket, less this one
                if bucket.insert(conn, burst - 1.0, now):
                    return RateDecision(True)
                row = bucket.read(conn)  # another replica's
                assert row is not None
            tokens_then, updated_at, notified_at = row
            elapsed = max(0.0, (now - updated_at).total_seconds())
            tokens = min(float(burst), tokens_then + elapsed * rate)
            if tokens >= 1.0:
                bucket.update(conn, tokens - 1.0, now, notified_at)
                return RateDecision(True)
            notify = notified_at is None or now - notified_at >= notice_every
            bucket.update(conn, tokens, now, now if notify else notified_at)
            retry_at = now + timedelta(seconds=(1.0 - tokens) / rate)
            return RateDecision(False, retry_at=retry_at, notify=notify)

        return await self._run(take, urgent=True)

    def _bucket(self, key: str) -> _Bucket:
        return _Bucket(key, *self._bucket_statements())

    def _bucket_statements(self) -> tuple[Any, Any, Any]:
        """Read (locked against other replicas on PostgreSQL), insert and update a bucket,
        built once: building them per command cost more CPU than running them."""
        _b = rate_buckets

        def build() -> tuple[Any, Any, Any]:
            read = select(_b).where(_b.c.key == bindparam("b_key"))
            if self.dialect == "postgresql":
                read = read.with_for_update()
            insert = self._insert(_b).on_conflict_do_nothing(index_elements=["key"])
            update_ = update(_b).where(_b.c.key == bindparam("b_key")).values(
                tokens=bindparam("b_tokens"), updated_at=bindparam("b_at"),
                notified_at=bindparam("b_notified"))
            return read, insert, update_

        statements: tuple[Any, Any, Any] = self._prepared("rate_bucket", build)
        return statements

    async def count_repeat(self, key: str, now: datetime, window: timedelta) -> Repeat:
        """Count one more occurrence of `key`; a window opens at the first after the last closed."""
        _r = repeats

        def count(conn: Connection) -> Repeat:
            new = self._insert(_r).values(key=key, since=now, count=0)
            conn.execute(new.on_conflict_do_nothing(index_elements=["key"]))
            row = _locked(conn, select(_r).where(_r.c.key == key))
            if row.count and now - row.since < window:
                conn.execute(update(_r).where(_r.c.key == key).values(count=row.count + 1))
                return Repeat(row.count + 1, row.since, row.audit_id)
            conn.execute(update(_r).where(_r.c.key == key).values(
                since=now, count=1, audit_id=None))
            return Repeat(1, now, None)

        return await self._run(count)

    async def remember_repeat_audit(self, key: str, audit_id: int) -> int:
        """The audit row that stands for `key`'s current window; returns the window's count
        so far (repeats that came before the row existed are counted on it by the caller)."""
        stmt = (update(repeats).where(repeats.c.key == key).values(audit_id=audit_id)
                .returning(repeats.c.count))
        return await self._run(lambda conn: int(conn.execute(stmt).scalar() or 0))

    async def prune_rates(self, before: datetime) -> int:
        """Forget buckets untouched and windows opened before `before`; returns how many."""
        buckets = delete(rate_buckets).where(rate_buckets.c.updated_at < before)
        windows = delete(repeats).where(repeats.c.since < before)
        return await self._run(
            lambda conn: conn.execute(buckets).rowcount + conn.execute(windows).rowcount)
