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
from bot.models import Envelope
from bot.outbox import Outbox
from bot.server.link import Link
from bot.server.ops_listener import Health
from bot.server.runner import EventRunner
from bot.server.taking import Events
from bot.settings import Settings
from bot.store import InboxEvent, Store
from tests.procs import wait_for

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
                    "body": {"resource": "messages", "event": "created",
                             "data": {"id": key, "roomId": "R", "personId": "P"}}})
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


async def test_a_burst_event_whose_earlier_delivery_is_queued_runs_once_and_soon(
        store: Store) -> None:
    # Alice's message was handed on alone (spooled) and waits in the queue, not yet in the
    # inbox; then a burst brings it again. The burst records it under the runner's lease; the
    # queued one finds it recorded and stops; the sweep runs it once, within seconds, not
    # after the 30 s lease.
    ran: list[str] = []
    blocker = asyncio.Event()

    async def handle(envelope: Envelope, outbox: Outbox) -> None:
        ran.append(str(envelope.data["id"]))
        if envelope.data["id"] == "BLOCK":
            await blocker.wait()

    runner = EventRunner(store, Metrics(), handle, settings=Settings(_env_file=None),
                         clock=lambda: datetime.now(UTC), concurrency=1,
                         lease=timedelta(seconds=30))
    await runner.start()
    events = events_for(cast(Any, runner), store, Metrics())
    try:
        block, alone = lines(["BLOCK", "X"])[1::2]
        events.handle(block)
        await wait_for(lambda: ran == ["BLOCK"], 2, "the first event to start")
        events.handle(alone)  # queued behind BLOCK, with its inbox record still to do
        events.handle_all(lines(["X", "Y"]))
        blocker.set()
        await wait_for(lambda: sorted(ran) == ["BLOCK", "X", "Y"], 8, "X and Y to run")
        await asyncio.sleep(0.5)
        assert sorted(ran) == ["BLOCK", "X", "Y"]  # each once
    finally:
        blocker.set()
        await runner.stop(grace=1)
        await events.close()

