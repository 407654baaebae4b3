"""A burst of webhooks is written to the receiving process's journal together, and each one is
still answered for itself: new or a redelivery, written or not."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.receiving.journal import Grouped, IntakeJournal
from bot.receiving.journal_worker import read_intake

T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


class Counting(IntakeJournal):
    """The real journal, counting its writes."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.writes: list[int] = []

    def record_many(self, events: list[Any]) -> list[bool]:
        self.writes.append(len(events))
        return super().record_many(events)


@pytest.fixture
def journal(tmp_path: Path) -> Any:
    journal = Counting(str(tmp_path / "bot.db-intake"))
    yield journal
    journal.close()


async def test_a_burst_is_one_write_and_each_webhook_learns_whether_it_was_new(
        journal: Counting) -> None:
    journal.record("messages:OLD", "messages", "created", {"n": 0}, T0)
    handed: list[list[str]] = []
    record = Grouped(journal, lambda events: handed.append([key for key, *_ in events]))
    keys = [f"messages:M{i}" for i in range(20)] + ["messages:M3", "messages:OLD"]

    answers = await asyncio.gather(*(
        record(key, "messages", "created", {"n": i}, T0) for i, key in enumerate(keys)))

    assert answers == [True] * 20 + [False, False]  # a key twice in the burst counts once
    assert journal.writes == [1, 22]
    rows = {key: body for key, _, _, body, _ in read_intake(journal.path, T0)}
    assert rows["messages:M3"] == {"n": 3} and rows["messages:OLD"] == {"n": 0}
    assert len(rows) == 21
    # The 20 new ones handed on together, once; the redeliveries not at all.
    assert handed == [[f"messages:M{i}" for i in range(20)]]
    # The next webhook, on its own, is a write of its own.
    assert await record("messages:LATE", "messages", "created", {}, T0) is True
    assert journal.writes[-1] == 1 and handed[-1] == ["messages:LATE"]


async def test_a_burst_is_handed_on_before_any_of_its_webhooks_is_answered(
        journal: Counting) -> None:
    handed: list[str] = []
    answered: list[tuple[str, int]] = []  # (key, how many were handed on by then)
    record = Grouped(journal, lambda events: handed.extend(key for key, *_ in events))

    async def webhook(key: str) -> None:
        await record(key, "messages", "created", {}, T0)
        answered.append((key, len(handed)))

    await asyncio.gather(*(webhook(f"messages:M{i}") for i in range(5)))

    assert [seen for _, seen in answered] == [5] * 5  # the worker had all five first


async def test_a_request_cancelled_before_the_write_is_not_written(journal: Counting) -> None:
    handed: list[str] = []
    record = Grouped(journal, lambda events: handed.extend(key for key, *_ in events))
    kept = asyncio.ensure_future(record("messages:KEPT", "messages", "created", {}, T0))
    dropped = asyncio.ensure_future(record("messages:GONE", "messages", "created", {}, T0))
    await asyncio.sleep(0)  # both wait for the write
    dropped.cancel()

    assert await kept is True
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert [key for key, *_ in read_intake(journal.path, T0)] == ["messages:KEPT"]
    assert handed == ["messages:KEPT"]  # not written: not handed on (Webex delivers it again)


async def test_a_request_cancelled_after_its_event_was_written_was_handed_on_once(
        journal: Counting) -> None:
    journal.record("messages:SEEN", "messages", "created", {}, T0)
    handed: list[str] = []
    record = Grouped(journal, lambda events: handed.extend(key for key, *_ in events))
    late = [asyncio.ensure_future(record(key, "messages", "created", {}, T0))
            for key in ("messages:LATE", "messages:SEEN")]
    for _ in range(2):  # the write runs: the handlers' wake-ups are due
        await asyncio.sleep(0)
    assert journal.writes == [1, 2]
    for request in late:
        request.cancel()

    for request in late:
        with pytest.raises(asyncio.CancelledError):
            await request
    # The new one is with the worker (which reads the journal only at start), once; the
    # redelivery was handed on when it first came.
    assert handed == ["messages:LATE"]


async def test_a_failed_write_fails_every_webhook_of_the_burst(journal: Counting) -> None:
    blocker = sqlite3.connect(journal.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # someone else holds the journal's write lock
    record = Grouped(journal, lambda *_: None)
    try:
        answers = await asyncio.gather(
            *(record(f"messages:B{i}", "messages", "created", {}, T0) for i in range(3)),
            return_exceptions=True)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert [type(answer) for answer in answers] == [sqlite3.OperationalError] * 3  # each spools
    assert read_intake(journal.path, T0) == []
    assert await record("messages:B0", "messages", "created", {}, T0) is True  # nothing half-done
