"""The SQLite write-ahead logs stay small: the store's database and the receiver's journal."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.receiving.journal import IntakeJournal
from bot.store import Store
from bot.store.wal import IDLE_CHECKPOINT_SECONDS, JOURNAL_SIZE_LIMIT, wal_size

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BODY = {"resource": "messages", "event": "created", "data": {"text": "x" * 900}}


async def test_the_store_empties_its_wal_once_idle_after_a_burst(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    store = await Store.open(f"sqlite:///{path}")
    try:
        grew = 0
        for start in range(0, 3000, 100):
            await asyncio.gather(*(
                store.record_event(f"messages:{i}", "messages", "created", BODY,
                                   T0 + timedelta(milliseconds=i))
                for i in range(start, start + 100)))
            grew = max(grew, wal_size(str(path)))
        assert grew > JOURNAL_SIZE_LIMIT / 4  # the burst did grow the log
        for _ in range(50):
            if wal_size(str(path)) == 0:
                break
            await asyncio.sleep(IDLE_CHECKPOINT_SECONDS / 5)
        assert wal_size(str(path)) == 0
        assert len(await store.claimable_events(T0, timedelta(days=1), limit=5000)) == 3000
    finally:
        await store.close()


def test_the_journals_wal_is_cut_to_the_limit_and_emptied_when_idle(tmp_path: Path) -> None:
    journal = IntakeJournal(str(tmp_path / "bot.db-intake"))
    try:
        for round_ in range(4):  # four bursts between the receiver's busy checkpoints
            for i in range(2500):
                key = f"messages:{round_}-{i}"
                journal.record(key, "messages", "created", BODY, T0)
            assert wal_size(journal.path) > JOURNAL_SIZE_LIMIT  # each burst wrote ~10 MB
            journal.checkpoint()
        journal.record("messages:last", "messages", "created", BODY, T0)
        # The writer that restarted the log cut it to the limit.
        assert wal_size(journal.path) <= JOURNAL_SIZE_LIMIT
        journal.checkpoint(idle=True)
        assert wal_size(journal.path) == 0
    finally:
        journal.close()
