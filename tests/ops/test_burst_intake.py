"""A burst the receiving process hands on in one write is recorded in the worker's inbox at
once, before any of its events' tasks starts, and each event runs once; when the inbox is
held by another writer just then, each is recorded in its own task instead, and none is lost."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from bot.metrics import Metrics
from bot.server.link import Link
from bot.server.ops_listener import Health
from bot.server.taking import Events
from bot.store import InboxEvent, Store

T0 = datetime.now(UTC).replace(microsecond=0)


class Runner:
    """The runner's side of bot/server/runner.py: `first` runs in the event's own task, which
    goes on only if it says so."""

    owner = "worker-1"
    lease = timedelta(seconds=30)
    accepting = True

    def __init__(self) -> None:
        self.started: list[tuple[str, InboxEvent | None, bool]] = []  # key, leased, recorded here
        self.tasks: set[asyncio.Task[None]] = set()

    def submit(self, key: str, leased: InboxEvent | None = None, *,
               first: Callable[[], Awaitable[bool]] | None = None) -> bool:
        async def run() -> None:
            if first is None or await first():
                self.started.append((key, leased, first is not None))

        task = asyncio.ensure_future(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return True

    async def idle(self) -> None:
        while self.tasks:
            await asyncio.gather(*self.tasks)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    yield opened
    await opened.close()


def lines(keys: list[str]) -> list[dict[str, Any]]:
    """What the receiving process writes for a burst (WorkerLink.accept, after a count each)."""
    out: list[dict[str, Any]] = []
    for key in keys:
        out.append({"count": ["messages/created", "accepted"]})
        out.append({"key": key, "resource": "messages", "event": "created",
                    "received_at": T0.isoformat(), "journaled": True,
                    "body": {"resource": "messages", "data": {"id": key}}})
    return out


def inbox(path: str) -> dict[str, tuple[str | None, int]]:
    """key → (owner, attempts), read as another process would."""
    conn = sqlite3.connect(path)
    try:
        return {k: (o, a) for k, o, a in
                conn.execute("SELECT key, owner, attempts FROM inbox_events")}
    finally:
        conn.close()


def events_for(runner: Runner, store: Store, metrics: Metrics) -> Events:
    health = Health(cast(Any, store), metrics, lambda: None)
    return Events(cast(Any, runner), store, metrics, health, window=timedelta(minutes=10),
                  clock=lambda: T0, journal=None)


def db_path(store: Store) -> str:
    return str(store._engine.url.database)  # type: ignore[attr-defined]


async def test_a_burst_is_in_the_inbox_before_its_first_task_starts_and_each_runs_once(
        store: Store) -> None:
    await store.record_event("messages:OLD", "messages", "created", {}, T0)  # ran before
    runner, metrics = Runner(), Metrics()
    events = events_for(runner, store, metrics)
    keys = [f"messages:M{i}" for i in range(20)]

    events.handle_all(lines([*keys, "messages:OLD"]))

    # Nothing has run yet (no task has had a turn), and all 20 are recorded, under the lease.
    assert runner.started == []
    rows = inbox(db_path(store))
    assert {k: rows[k] for k in keys} == {k: ("worker-1", 1) for k in keys}
    await runner.idle()
    # Each new one started once, as recorded already; the one the inbox had, not again.
    assert sorted(key for key, _, _ in runner.started) == sorted(keys)
    assert all(leased is not None and not recorded_in_task
               for _, leased, recorded_in_task in runner.started)
    assert 'ecn_bot_events_total{outcome="accepted",type="messages/created"} 21.0' in (
        metrics.render().decode())
    await events.close()


async def test_a_burst_meeting_another_writer_is_recorded_event_by_event_and_none_is_lost(
        store: Store) -> None:
    runner = Runner()
    events = events_for(runner, store, Metrics())
    keys = [f"messages:M{i}" for i in range(5)]
    holder = sqlite3.connect(db_path(store), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database just now
    try:
        events.handle_all(lines(keys))
        assert inbox(db_path(store)) == {}  # not recorded together, nor run
        await asyncio.sleep(0.3)
        assert runner.started == []
    finally:
        holder.execute("COMMIT")
        holder.close()
    await asyncio.wait_for(runner.idle(), 10)
    # Each recorded in its own task once the database was free, and run once.
    assert sorted(key for key, _, _ in runner.started) == sorted(keys)
    assert all(recorded_in_task for _, _, recorded_in_task in runner.started)
    assert set(inbox(db_path(store))) == set(keys)
    await events.close()


async def test_a_line_that_is_not_a_message_is_logged_and_the_rest_of_the_read_is_handled(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    runner = Runner()
    events = events_for(runner, store, Metrics())
    link = Link(events.handle_all)
    protocol = link.protocol()
    closed: list[bool] = []

    class Transport:
        def close(self) -> None:
            closed.append(True)

    protocol.connection_made(cast(Any, Transport()))
    good = [json.dumps(m).encode() for m in lines(["messages:M1", "messages:M2"])]
    protocol.data_received(b"\n".join([b"5", b'"monkey"', *good, b"{not json"]) + b"\n")

    await runner.idle()
    assert sorted(key for key, _, _ in runner.started) == ["messages:M1", "messages:M2"]
    assert caplog.text.count("a message from the receiving process was not understood") == 3
    assert closed == [] and not link.closed.is_set()
    await events.close()


class QueuedAlready(Runner):
    """A runner that holds an earlier delivery of every key in its queue already."""

    def __init__(self) -> None:
        super().__init__()
        self.given_back: list[str] = []

    def submit(self, key: str, leased: InboxEvent | None = None, *,
               first: Callable[[], Awaitable[bool]] | None = None) -> bool:
        return False

    def give_back(self, key: str) -> None:
        self.given_back.append(key)


async def test_a_burst_event_the_runner_does_not_take_is_given_back_to_the_sweep(
        store: Store) -> None:
    runner = QueuedAlready()
    events = events_for(runner, store, Metrics())
    events.handle_all(lines(["messages:M1", "messages:M2"]))
    # Recorded under our lease, and handed back at once rather than after the lease runs out.
    assert set(inbox(db_path(store))) == {"messages:M1", "messages:M2"}
    assert runner.given_back == ["messages:M1", "messages:M2"]
    await events.close()
