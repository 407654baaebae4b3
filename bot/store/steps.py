"""An event's recorded steps (the replies it posted, so that a resumed event skips them), and
the cards those replies carry, written together with the event's end where they can be."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from . import direct
from ._base import StoreBase
from .schema import card_tokens, inbox_steps

Steps = Mapping[str, Mapping[str, Any]]  # step name → its value ({"message_id": …})
Cards = Mapping[str, str]  # card token → the message that carries it
_UPSERT_STEP = ("INSERT INTO inbox_steps (event_key, step, value, at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (event_key, step) DO UPDATE SET value = excluded.value,"
                " at = excluded.at")
_ATTACH_CARD = "UPDATE card_tokens SET message_id = ? WHERE token = ?"


class StepMixin(StoreBase):
    async def set_event_step(self, key: str, step: str, value: dict[str, Any]) -> None:
        """Record that a step of an event is done, so a resumed event skips it."""
        await self.record_steps(key, {step: value})

    async def record_steps(self, key: str, steps: Steps, cards: Cards | None = None) -> None:
        """Record steps of an event, and which message carries each card token, in one
        transaction."""
        if steps or cards:
            await self._run(self._steps_work(key, steps, cards or {}))

    async def get_event_steps(self, key: str) -> dict[str, dict[str, Any]]:
        """The steps recorded for an event, by name."""
        stmt = select(inbox_steps.c.step, inbox_steps.c.value).where(inbox_steps.c.event_key == key)
        return await self._run(lambda conn: {row.step: row.value for row in conn.execute(stmt)})

    def _write_steps(self, conn: Connection, key: str, steps: Steps, cards: Cards) -> None:
        """Inside a transaction of the caller's (an event's end, or a flush of its steps)."""
        if (raw := direct.driver(conn)) is not None:
            if steps:
                stamp = direct.stamp(datetime.now(UTC))
                direct.execute_many(raw, _UPSERT_STEP, [
                    (key, step, direct.as_json(dict(value)), stamp)
                    for step, value in steps.items()])
            if cards:
                direct.execute_many(raw, _ATTACH_CARD, [
                    (message_id, token) for token, message_id in cards.items()])
            return
        if steps:
            at = datetime.now(UTC)
            conn.execute(self._step_upsert(), [
                {"event_key": key, "step": step, "value": dict(value), "at": at}
                for step, value in steps.items()])
        if cards:
            conn.execute(self._card_attach(), [
                {"b_token": token, "b_message": message_id}
                for token, message_id in cards.items()])

    def _steps_work(self, key: str, steps: Steps, cards: Cards) -> Any:
        return lambda conn: self._write_steps(conn, key, steps, cards)

    def _step_upsert(self) -> Any:
        def build() -> Any:
            insert = self._insert(inbox_steps)
            return insert.on_conflict_do_update(
                index_elements=["event_key", "step"],
                set_={"value": insert.excluded.value, "at": insert.excluded.at},
            )

        return self._prepared("set_event_step", build)

    def _card_attach(self) -> Any:
        return self._prepared("attach_card_messages", lambda: (
            update(card_tokens).where(card_tokens.c.token == bindparam("b_token"))
            .values(message_id=bindparam("b_message"))))
