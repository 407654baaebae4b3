"""A SQLite file another process holds the write lock of: urgent writes wait for it, not fail."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bot.store import Store

from .conftest import NOW


async def test_an_urgent_write_while_another_process_writes_lands_once_it_is_done(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    store = await Store.open(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # the receiving process, say, in a write
        recording = asyncio.ensure_future(
            store.record_event("messages:1", "messages", "created", {}, NOW))
        await asyncio.sleep(0.2)
        assert not recording.done()  # waiting for the lock, not refused
        other.execute("COMMIT")
        assert await asyncio.wait_for(recording, 20)  # generous: a loaded host
        assert [e.key for e in await store.claimable_events(NOW, NOW - NOW.replace(year=2000))
                ] == ["messages:1"]
    finally:
        other.close()
        await store.close()
