"""Personal sign-in at rest: each person's sealed tokens, and single-use sign-in states.

The store never sees a key: tokens and verifiers arrive sealed (bot.sealing) and leave so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from ._base import StoreBase
from .schema import person_tokens, sign_in_states


@dataclass(frozen=True)
class PersonTokens:
    person_id: str
    org_id: str
    sealed: str
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    signed_in_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SignInState:
    id: str
    secret_hash: str
    person_id: str
    room_id: str | None
    verifier: str  # sealed
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


def _record(cls: Any, row: Any) -> Any:
    return None if row is None else cls(**{f.name: getattr(row, f.name)
                                           for f in dataclasses.fields(cls)})


class SignInMixin(StoreBase):
    async def put_person_tokens(self, *, person_id: str, org_id: str, sealed: str,
                                access_expires_at: datetime,
                                refresh_expires_at: datetime | None, at: datetime) -> None:
        """Insert or replace a person's tokens (a new sign-in)."""
        values = {"person_id": person_id, "org_id": org_id, "sealed": sealed,
                  "access_expires_at": access_expires_at, "refresh_expires_at": refresh_expires_at,
                  "signed_in_at": at, "updated_at": at}  # fmt: skip
        stmt: Any = self._insert(person_tokens).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["person_id"],
            set_={k: getattr(stmt.excluded, k) for k in values if k != "person_id"},
        )
        await self._run(lambda conn: conn.execute(stmt))

    async def get_person_tokens(self, person_id: str) -> PersonTokens | None:
        stmt = select(person_tokens).where(person_tokens.c.person_id == person_id)
        row = await self._run(lambda conn: conn.execute(stmt).first())
        found: PersonTokens | None = _record(PersonTokens, row)
        return found

    async def replace_person_tokens(self, *, person_id: str, previous: str, sealed: str,
                                    access_expires_at: datetime,
                                    refresh_expires_at: datetime | None, at: datetime) -> bool:
        """Write refreshed tokens only over the row that was refreshed (`previous` sealed
        value): False when another process changed or removed it meanwhile."""
        t = person_tokens.c
        stmt = (update(person_tokens)
                .where(t.person_id == person_id, t.sealed == previous)
                .values(sealed=sealed, access_expires_at=access_expires_at,
                        refresh_expires_at=refresh_expires_at, updated_at=at))  # fmt: skip
        return await self._run(lambda conn: conn.execute(stmt).rowcount == 1)

    async def delete_person_tokens(self, person_id: str) -> bool:
        """Remove a person's tokens; True when there were some."""
        stmt = delete(person_tokens).where(person_tokens.c.person_id == person_id)
        return await self._run(lambda conn: conn.execute(stmt).rowcount > 0)

    async def create_sign_in_state(self, *, id: str, secret_hash: str, person_id: str,
                                   room_id: str | None, verifier: str, created_at: datetime,
                                   expires_at: datetime) -> None:
        values = {"id": id, "secret_hash": secret_hash, "person_id": person_id,
                  "room_id": room_id, "verifier": verifier, "created_at": created_at,
                  "expires_at": expires_at}  # fmt: skip
        await self._run(lambda conn: conn.execute(sign_in_states.insert(), values))

    async def get_sign_in_state(self, state_id: str) -> SignInState | None:
        stmt = select(sign_in_states).where(sign_in_states.c.id == state_id)
        row = await self._run(lambda conn: conn.execute(stmt).first())
        found: SignInState | None = _record(SignInState, row)
        return found

    async def use_sign_in_state(self, state_id: str, now: datetime) -> bool:
        """Use a state once: True for exactly one caller while it is unexpired."""
        s = sign_in_states.c
        stmt = (update(sign_in_states)
                .where(s.id == state_id, s.used_at.is_(None), s.expires_at > now)
                .values(used_at=now))  # fmt: skip
        return await self._run(lambda conn: conn.execute(stmt).rowcount == 1)

    async def prune_sign_in_states(self, expired_before: datetime) -> int:
        """Delete states that expired before the given time; returns how many."""
        stmt = delete(sign_in_states).where(sign_in_states.c.expires_at < expired_before)
        return await self._run(lambda conn: conn.execute(stmt).rowcount)
