"""Single-use card tokens, and the small secrets table."""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, false, or_, select, update

from . import direct
from ._base import StoreBase
from .records import CardToken
from .schema import card_tokens, secrets

_t = card_tokens
_FIELDS = dataclasses.fields(CardToken)
_TIMES = frozenset({"created_at", "expires_at", "used_at"})


@functools.cache
def _insert_sql(names: tuple[str, ...]) -> str:
    """The INSERT for these CardToken fields (the column names are the dataclass's own)."""
    assert set(names) <= {f.name for f in _FIELDS}
    return f"INSERT INTO card_tokens ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"  # noqa: S608


def _stored(name: str, value: Any) -> Any:
    """A CardToken field as SQLite's own connection takes it (see bot.store.direct)."""
    if name in _TIMES:
        return direct.stamp(value)
    return direct.as_json(value) if name == "payload" else value


class TokenMixin(StoreBase):
    async def create_card_token(self, ct: CardToken) -> None:
        """Store a new token (IntegrityError if the token string exists)."""
        # A new token is unused: its used_* columns are left out (and so work on any version).
        # Built once, and the values read without asdict's deep copy (one token a command).
        values = {f.name: getattr(ct, f.name) for f in _FIELDS}
        values = {k: v for k, v in values.items() if not (k.startswith("used_") and v is None)}
        stmt = self._prepared("create_card_token", _t.insert)

        def create(conn: Connection) -> None:
            direct.write(conn, _insert_sql(tuple(values)),
                         [_stored(name, value) for name, value in values.items()], stmt, values)

        # Urgent: the card it stands for is about to be posted, with someone waiting for it.
        await self._run(create, urgent=True)

    async def get_card_token(self, token: str) -> CardToken | None:
        stmt = self._prepared("get_card_token", lambda: (
            select(_t).where(_t.c.token == bindparam("b_token"))))
        row = await self._run(lambda conn: conn.execute(stmt, {"b_token": token}).first())
        if row is None:
            return None
        return CardToken(**{f.name: getattr(row, f.name) for f in dataclasses.fields(CardToken)})

    async def attach_card_message(self, token: str, message_id: str) -> None:
        """Remember which posted message carries the card."""
        stmt = self._prepared("attach_card_message", lambda: (
            update(_t).where(_t.c.token == bindparam("b_token"))
            .values(message_id=bindparam("b_message"))))
        params = {"b_token": token, "b_message": message_id}
        await self._run(lambda conn: conn.execute(stmt, params))

    async def consume_card_token(
        self, token: str, person_id: str, now: datetime, event_key: str | None = None
    ) -> bool:
        """Use a token once: True for exactly one caller, while unexpired and, if bound,
        only for its person. The event that used it gets True again (a resumed press)."""
        unused = and_(
            _t.c.used_at.is_(None),
            _t.c.expires_at > now,
            or_(_t.c.person_id.is_(None), _t.c.person_id == person_id),
        )
        mine = _t.c.used_event == event_key if event_key is not None else false()
        stmt = (
            update(_t)
            .where(_t.c.token == token, or_(unused, mine))
            .values(used_at=now, used_by=person_id, used_event=event_key)
            .returning(_t.c.token)
        )
        return await self._run(lambda conn: conn.execute(stmt).first() is not None)

    async def prune_card_tokens(self, expired_before: datetime) -> int:
        """Delete tokens that expired before the given time; returns how many."""
        stmt = delete(_t).where(_t.c.expires_at < expired_before)
        return await self._run(lambda conn: conn.execute(stmt).rowcount)


class SecretMixin(StoreBase):
    async def get_secret(self, name: str) -> str | None:
        stmt = select(secrets.c.value).where(secrets.c.name == name)
        value = await self._run(lambda conn: conn.execute(stmt).scalar())
        return None if value is None else str(value)

    async def put_secret(self, name: str, value: str) -> None:
        """Insert or replace a secret."""
        stmt: Any = self._insert(secrets).values(name=name, value=value,
                                                 updated_at=datetime.now(UTC))  # fmt: skip
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
        await self._run(lambda conn: conn.execute(stmt))
