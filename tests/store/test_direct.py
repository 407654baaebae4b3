"""The statements run on SQLite's own connection (bot.store.direct) leave the rows SQLAlchemy's
would: a replica, an older version or an export reading the file sees no difference."""

from __future__ import annotations

import sqlite3
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.store import CardToken, Store, direct

from .conftest import NOW


async def _commands(store: Store) -> list[Any]:
    """What a few commands write, and what the store answered."""
    # An aware time not in UTC is stored as its UTC instant.
    later = (NOW + timedelta(seconds=1, microseconds=250)).astimezone(timezone(timedelta(hours=2)))
    answers: list[Any] = [
        await store.record_event("k1", "messages", "created", {"data": {"id": "m1"}, "é": [1, 2.5]},
                                 NOW, owner="w1", lease=timedelta(seconds=30)),
        await store.record_event("k1", "messages", "created", {}, NOW),
        await store.record_event("k2", "attachmentActions", "created", {"x": None}, later),
    ]
    for at in (NOW, NOW, later, later + timedelta(seconds=2)):
        answers.append(await store.take_rate_token("p1", at, burst=2, per_minute=1.0))
    await store.create_card_token(CardToken(
        token="t1", org_id="o1", kind="menu", person_id=None, room_id="r1", message_id=None,
        payload={"_thread": None, "ü": "ß"}, created_at=NOW, expires_at=later,
        used_at=None, used_by=None))
    answers.append(await store.finish_event(
        "k1", "w1", "done", later, "fine", steps={"reply": {"message_id": "m9"}},
        cards={"t1": "m9"}))
    answers.append(await store.finish_event(  # nobody holds k2: its steps are kept
        "k2", "w1", "failed", later, None, steps={"reply": {"message_id": "m8"}}))
    answers += [await store.get_card_token("t1"), await store.get_event_steps("k2"),
                await store.claimable_events(later, timedelta(days=1))]
    return answers


def _rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()  # noqa: S608
                for table in ("inbox_events", "inbox_steps", "rate_buckets", "card_tokens")}


async def test_rows_and_answers_are_the_same_as_through_sqlalchemy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = {}
    real_driver, used = direct.driver, []

    def counted(conn: Any) -> sqlite3.Connection | None:
        raw = real_driver(conn)
        used.append(raw is not None)
        return raw

    for way in ("direct", "core"):
        with monkeypatch.context() as patch:
            patch.setattr(direct, "driver", counted if way == "direct" else lambda conn: None)
            store = await Store.open(f"sqlite:///{tmp_path / way}.db")
            try:
                answers = await _commands(store)
            finally:
                await store.close()
        results[way] = (answers, _rows(tmp_path / f"{way}.db"))

    (answers, rows), (core_answers, core_rows) = results["direct"], results["core"]
    assert used.count(True) >= 8  # every statement above, on SQLite's own connection
    assert answers == core_answers
    assert [a.allowed for a in answers[3:7]] == [True, True, False, False]
    # A step's time is the moment it was written: the same format, not the same value.
    steps, core_steps = rows.pop("inbox_steps"), core_rows.pop("inbox_steps")
    assert [row[:3] for row in steps] == [row[:3] for row in core_steps]
    # k2's only: k1 finished, and a finished event's steps are not kept
    assert [len(row[3]) for row in steps] == [len(row[3]) for row in core_steps] == [26]
    assert rows == core_rows
    assert rows["inbox_events"][0][4] == "2024-05-01 12:00:00.000000"
    assert rows["inbox_events"][1][4] == "2024-05-01 12:00:01.000250"  # k2, given at +02:00
