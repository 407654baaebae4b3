"""`serve` with its receiving process (bot/front.py): what was acknowledged is answered once,
the two processes live and die together, and RECEIVER_PROCESS=false keeps one process."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from bot.emulator import Emulator
from bot.metrics import Metrics
from bot.receiving.guard import guard_for
from bot.receiving.intake import with_deadline
from bot.receiving.journal import IntakeJournal
from bot.receiving.journal_worker import read_intake
from bot.receiving.process import FrontSpec, create_front_app
from bot.receiving.spool import Spool
from bot.receiving.worker_link import LINK_BUFFER_LIMIT, WorkerLink
from bot.security import SIGNATURE_HEADER, sign
from bot.server.ops_listener import Health
from bot.server.taking import Events
from bot.settings import Settings
from bot.store import InboxEvent
from tests.e2e.harness import SECRET, running_bot
from tests.e2e.helpers import card_text, envelope_for
from tests.ops.test_runtime import samples, value
from tests.procs import (
    BotProcess,
    Serve,
    alive,
    free_port,
    post_to,
    restartable_serve,
    start_serve,
    wait_for,
)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bot.db"


@pytest.fixture
async def serve(emu: Emulator, tmp_path: Path, db_path: Path) -> AsyncIterator[Serve]:
    async with restartable_serve(emu, tmp_path, f"sqlite:///{db_path}") as start:
        yield start


def bot_replies(emu: Emulator, sent: dict[str, Any]) -> list[dict[str, Any]]:
    """The bot's answers to `sent`: in its thread in a group space, after it in a direct one."""
    return [
        m
        for m in emu.state.messages.values()
        if m["personId"] == emu.seed.bot_id
        and m["roomId"] == sent["roomId"]
        and (
            m.get("parentId") == sent["id"]
            or (sent.get("roomType") == "direct" and m["created"] >= sent["created"])
        )
    ]


def receiver_of(bot: BotProcess) -> int:
    [pid] = bot.children()
    return pid


async def metrics(bot: BotProcess) -> dict[Any, float]:
    async with aiohttp.ClientSession() as http, http.get(f"{bot.ops_url}/metrics") as reply:
        assert reply.status == 200, await reply.text()
        return samples(await reply.text())


async def metric_reaches(bot: BotProcess, name: str, wanted: float, **labels: str) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while value(await metrics(bot), name, **labels) < wanted:
        assert asyncio.get_running_loop().time() < deadline, f"{name} {labels} < {wanted}"
        await asyncio.sleep(0.05)


async def command_is_answered(emu: Emulator, text: str = "status") -> dict[str, Any]:
    """alice mentions the bot in the group space; the bot answers in its thread."""
    sent = await emu.post_message(person="alice", room="group", text=text, mention_bot=True)
    await wait_for(lambda: bot_replies(emu, sent), 15, f"the answer to {text!r}")
    return sent


# --- the journal, as the receiving process and the worker use it --------------------------

T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


def test_a_repeated_key_is_not_recorded_again(tmp_path: Path) -> None:
    journal = IntakeJournal(str(tmp_path / "bot.db-intake"))
    try:
        assert journal.record("messages:M1", "messages", "created", {"n": 1}, T0) is True
        assert journal.record("messages:M1", "messages", "created", {"n": 2}, T0) is False
        assert journal.record("messages:M2", "messages", "created", {"n": 3}, T0) is True
    finally:
        journal.close()
    rows = read_intake(journal.path, T0)
    assert [(key, body) for key, _, _, body, _ in rows] == [
        ("messages:M1", {"n": 1}),
        ("messages:M2", {"n": 3}),
    ]


@pytest.mark.parametrize(
    ("received", "since", "read"),
    [
        (T0, T0, True),
        (T0, T0 + timedelta(microseconds=1), False),  # isoformat drops a zero fraction
        (T0 + timedelta(microseconds=1), T0, True),
        (T0 + timedelta(milliseconds=500), T0 + timedelta(seconds=1), False),
        (T0 + timedelta(seconds=1), T0 + timedelta(milliseconds=500), True),
        (T0 - timedelta(hours=1), T0, False),
    ],
)
def test_only_events_received_since_the_given_time_are_read(
    tmp_path: Path, received: datetime, since: datetime, read: bool
) -> None:
    journal = IntakeJournal(str(tmp_path / "bot.db-intake"))
    journal.record("messages:OLD", "messages", "created", {}, T0 - timedelta(days=1))
    journal.record("messages:M", "attachmentActions", "created", {"a": [1]}, received)
    journal.close()

    rows = read_intake(journal.path, since)

    expected = [("messages:M", "attachmentActions", "created", {"a": [1]}, received)]
    assert rows == (expected if read else [])


def test_a_missing_or_empty_journal_reads_as_nothing(tmp_path: Path) -> None:
    assert read_intake(str(tmp_path / "never-written"), T0) == []
    (tmp_path / "empty").touch()
    assert read_intake(str(tmp_path / "empty"), T0) == []


def test_a_checkpoint_forgets_events_older_than_asked(tmp_path: Path) -> None:
    journal = IntakeJournal(str(tmp_path / "bot.db-intake"))
    journal.record("messages:OLD", "messages", "created", {}, T0 - timedelta(hours=2))
    journal.record("messages:NEW", "messages", "created", {}, T0)
    journal.checkpoint(T0 - timedelta(hours=1))
    journal.close()

    assert [row[0] for row in read_intake(journal.path, T0 - timedelta(days=1))] == ["messages:NEW"]


# --- acknowledged by the receiver, never recorded in the inbox ------------------------------


async def test_an_event_only_in_the_journal_is_answered_once_at_start(
    emu: Emulator, tmp_path: Path, db_path: Path
) -> None:
    # alice wrote to the bot; its receiving process journaled and acknowledged the delivery,
    # and the worker died before recording it in the inbox (no webhooks: nothing else arrives).
    sent = await emu.post_message(person="alice", room="direct_alice", text="status")
    envelope = envelope_for(emu, sent)
    journal = IntakeJournal(f"{db_path}-intake")
    journal.record(
        f"messages:{sent['id']}", "messages", "created", json.loads(envelope), datetime.now(UTC)
    )
    journal.close()

    async with running_bot(
        emu, tmp_path, webhooks=False, DATABASE_URL=f"sqlite:///{db_path}"
    ) as bot:
        await wait_for(lambda: bot_replies(emu, sent), 10, "the answer after the start")
        await bot.idle()
    # A later start reads the same journal again: the event is known, nothing is run again.
    async with running_bot(
        emu, tmp_path, webhooks=False, DATABASE_URL=f"sqlite:///{db_path}"
    ) as bot:
        await bot.idle()

    [reply] = bot_replies(emu, sent)
    assert "security@acme.example" in card_text(reply)  # the status it asked for


# --- the link between them, each end on its own ------------------------------------------


class LinkWriter:
    """The receiver's end of the link, as WorkerLink writes to it; `buffered`: bytes the
    worker has not read yet."""

    def __init__(self, buffered: int = 0) -> None:
        self.transport = SimpleNamespace(get_write_buffer_size=lambda: buffered)
        self.messages: list[dict[str, Any]] = []

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        self.messages.extend(json.loads(line) for line in data.splitlines())


def link_to(writer: LinkWriter, *, journaled: bool = True) -> WorkerLink:
    return WorkerLink(cast(asyncio.StreamWriter, writer), journaled=journaled)


class Runner:
    """The worker's runner, as far as the link uses it: what it was given to run."""

    owner = "worker-1"
    lease = timedelta(seconds=30)

    def __init__(self) -> None:
        self.submitted: list[tuple[str, InboxEvent | None]] = []
        self.running: set[asyncio.Task[None]] = set()

    def submit(self, key: str, leased: InboxEvent | None = None, *,
               first: Callable[[], Awaitable[bool]] | None = None) -> bool:
        """As bot/runner.py does: `first` in the event's own task, which runs only if it
        says so."""
        async def run() -> None:
            if first is None or await first():
                self.submitted.append((key, leased))

        task = asyncio.ensure_future(run())
        self.running.add(task)
        task.add_done_callback(self.running.discard)
        return True

    async def idle(self) -> None:
        await asyncio.gather(*self.running)


class Inbox:
    """A store whose inbox refuses the first `failures` events (all of them with None)."""

    def __init__(self, failures: int | None) -> None:
        self.failures = failures
        self.calls = 0
        self.owners: list[str | None] = []

    async def record_event(self, key: str, resource: str, event: str, body: dict[str, Any],
                           received_at: datetime, *, owner: str | None,
                           lease: timedelta | None) -> bool:
        self.calls += 1
        self.owners.append(owner)
        if self.failures is None or self.calls <= self.failures:
            raise ConnectionError("the database is not answering")
        return True


def worker_events(runner: Runner, inbox: Inbox, now: datetime = T0) -> Events:
    metrics = Metrics()
    health = Health(cast(Any, inbox), metrics, lambda: None)
    return Events(cast(Any, runner), cast(Any, inbox), metrics, health,
                  window=front_settings().inbox_resume_window, clock=lambda: now, journal=None)


async def journaled_event(body: dict[str, Any]) -> dict[str, Any]:
    """The line the receiver sends for an event it holds in its journal only."""
    writer = LinkWriter()
    link_to(writer).accept("messages:M1", "messages", "created", body, T0, spooled=False)
    await asyncio.sleep(0)  # the link writes once a turn of the loop
    [message] = writer.messages
    return message


def other_tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}


async def test_an_event_the_inbox_refused_is_run_once_when_the_inbox_takes_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Webex was answered already: dropping the event would lose alice's command.
    caplog.set_level(logging.INFO, logger="bot.server.taking")
    runner, inbox = Runner(), Inbox(failures=2)
    events = worker_events(runner, inbox)
    body = {"resource": "messages", "data": {"id": "M1", "personId": "alice"}}

    events.handle(await journaled_event(body))
    await runner.idle()
    assert runner.submitted == []  # refused once, in the event's own task

    await wait_for(lambda: runner.submitted, 10, "the event to run")  # 0.5 s, then 1 s
    await asyncio.sleep(0.1)
    await runner.idle()
    try:
        [(key, event)] = runner.submitted
        assert key == "messages:M1"
        assert event is not None
        assert (event.body, event.received_at) == (body, T0)
        assert inbox.calls == 3
        assert other_tasks() == set()  # it stopped trying
        # One warning while it fails (not one per attempt), one line when it works again.
        assert caplog.text.count("recording events in the inbox fails") == 1
        assert "recording events in the inbox works again" in caplog.text
        assert "messages:M1 recorded in the inbox after all" in caplog.text
    finally:
        await events.close()


async def test_closing_the_worker_stops_trying_to_record_an_event() -> None:
    runner, inbox = Runner(), Inbox(failures=None)
    events = worker_events(runner, inbox)
    events.handle(await journaled_event({"data": {"id": "M1"}}))
    await runner.idle()
    assert other_tasks()  # a retry is waiting

    await asyncio.wait_for(events.close(), 5)  # it does not wait for the database

    assert other_tasks() == set()
    calls = inbox.calls
    await asyncio.sleep(0.6)  # past the first retry's pause
    assert inbox.calls == calls
    assert runner.submitted == []  # it stays in the journal for the next start


async def test_an_event_the_inbox_refuses_past_the_resume_window_expires(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Ten minutes (the default window) after alice asked, her command is not run any more, as
    # an unfinished event in the inbox expires; and the bot stops trying to record it.
    late = T0 + front_settings().inbox_resume_window + timedelta(seconds=1)
    runner, inbox = Runner(), Inbox(failures=None)
    events = worker_events(runner, inbox, now=late)
    events.handle(await journaled_event({"data": {"id": "M1"}}))
    await runner.idle()

    await wait_for(lambda: not other_tasks(), 5, "the retries to stop")  # after one, at 0.5 s
    assert inbox.calls == 2
    assert runner.submitted == []
    assert "messages:M1 could not be recorded in the inbox for 0:10:00: expired" in caplog.text
    await events.close()


class FullRunner(Runner):
    """A runner that takes nothing more: its queue is full, or it is stopping."""

    def submit(self, key: str, leased: InboxEvent | None = None, *,
               first: Callable[[], Awaitable[bool]] | None = None) -> bool:
        return False


async def test_an_event_the_runner_cannot_take_is_still_recorded_for_the_sweeper() -> None:
    runner, inbox = FullRunner(), Inbox(failures=0)
    events = worker_events(runner, inbox)
    events.handle(await journaled_event({"data": {"id": "M1"}}))
    await asyncio.wait_for(events.close(), 5)  # a stop waits for it to be recorded
    assert inbox.calls == 1
    assert inbox.owners == [None]  # no lease: the next sweep (here or after a restart) claims it
    assert runner.submitted == []


def front_settings() -> Settings:
    return Settings(_env_file=None, WEBEX_WEBHOOK_SECRET=SECRET)


def signed_envelope() -> tuple[bytes, dict[str, str]]:
    body = json.dumps({
        "id": "webhook-under-test", "resource": "messages", "event": "created",
        "actorId": "ALICE", "data": {"id": "M1", "roomId": "R1", "personId": "ALICE"},
    }).encode()
    return body, {SIGNATURE_HEADER: sign(SECRET.encode(), body),
                  "Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("unread", "deferred"),
    [(0, False), (LINK_BUFFER_LIMIT, False), (LINK_BUFFER_LIMIT + 1, True), (1 << 40, True)],
)
async def test_the_receiver_records_and_defers_while_the_worker_is_far_behind(
    aiohttp_client: AiohttpClient, tmp_path: Path, unread: int, deferred: bool
) -> None:
    recorded: list[str] = []

    async def record(key: str, resource: str, event: str, body: dict[str, Any],
                     now: datetime) -> bool:
        recorded.append(key)
        return True

    writer = LinkWriter(buffered=unread)
    spec = FrontSpec(-1, "", str(tmp_path / "events.sock"), str(tmp_path / "http.sock"),
                     "BOT", "worker-1", 30.0)
    link = link_to(writer)
    client = await aiohttp_client(create_front_app(
        front_settings(), spec, record, link, Spool(None), guard_for(100, 10)))
    body, headers = signed_envelope()

    async with client.post("/webhooks/webex", data=body, headers=headers) as reply:
        # Never a 503: Webex does not promise to deliver a refused event again.
        assert reply.status == 200, await reply.text()

    assert recorded == ["messages:M1"]
    if deferred:  # recorded; the worker takes it from the journal when it catches up
        assert [m.get("key") for m in writer.messages if "key" in m] == []
        assert [m for m in writer.messages if "deferred" in m] != []
    else:
        assert [m.get("key") for m in writer.messages if "key" in m] == ["messages:M1"]


async def test_a_database_that_hangs_does_not_hold_the_acknowledgement(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    """The inbox's record within its deadline (with_deadline, as the PostgreSQL recorder and
    the one-process receiver are wired): past it the event is spooled and handed on."""
    async def hangs(key: str, resource: str, event: str, body: dict[str, Any],
                    now: datetime) -> bool:
        await asyncio.Event().wait()
        return True

    writer = LinkWriter()
    spec = FrontSpec(-1, "", str(tmp_path / "events.sock"), str(tmp_path / "http.sock"),
                     "BOT", "worker-1", 30.0)
    spool_file = str(tmp_path / "spool.db")
    spool = Spool(spool_file)
    client = await aiohttp_client(create_front_app(
        front_settings(), spec, with_deadline(hangs, 0.2), link_to(writer), spool,
        guard_for(100, 10)))
    body, headers = signed_envelope()

    async with asyncio.timeout(2.0), client.post(  # the deadline answers, not the hang
            "/webhooks/webex", data=body, headers=headers) as reply:
        assert reply.status == 200, await reply.text()
    spool.close()

    assert [key for key, *_ in read_intake(spool_file, T0 - timedelta(days=3650))] == [
        "messages:M1"]
    await asyncio.sleep(0)  # the link writes once a turn of the loop
    [line] = [m for m in writer.messages if "key" in m]
    assert (line["key"], line["journaled"]) == ("messages:M1", True)  # the worker records it


# --- serve: the receiving process in front of the worker ------------------------------------


async def test_serve_refuses_a_bad_signature_and_answers_a_command_once(
    emu: Emulator, serve: Serve
) -> None:
    bot = await serve()
    receiver = receiver_of(bot)  # the receiving process is there
    # Acknowledgements come first: the worker runs below the receiver (WORKER_NICE=5).
    base = os.getpriority(os.PRIO_PROCESS, receiver)
    assert os.getpriority(os.PRIO_PROCESS, bot.process.pid) == base + 5
    sent = await emu.post_message(person="alice", room="lobby", text="hello")  # no mention

    assert await post_to(bot.webhook_url, envelope_for(emu, sent), secret="not-the-secret") == 401
    await metric_reaches(bot, "ecn_bot_signature_failures_total", 1)
    async with aiohttp.ClientSession() as http, http.get(f"{bot.ops_url}/metrics") as reply:
        assert "ecn_bot_signature_failures_total 1.0" in await reply.text()
        # Prometheus reads the exposition format's version from the worker's own header.
        content_type = reply.headers["Content-Type"]
        assert content_type.startswith("text/plain"), content_type
        assert "version=" in content_type, content_type

    command = await command_is_answered(emu)
    [again] = await emu.redeliver(command["id"])
    assert again.status == 200
    await metric_reaches(
        bot, "ecn_bot_events_total", 1, type="messages/created", outcome="duplicate"
    )
    await bot.wait_idle()
    assert len(bot_replies(emu, command)) == 1
    assert (
        value(
            await metrics(bot), "ecn_bot_events_total", type="messages/created", outcome="accepted"
        )
        == 1
    )


async def test_a_webhook_whose_json_has_newlines_is_answered_once(
    emu: Emulator, serve: Serve
) -> None:
    """The receiver hands each event to the worker as one line holding the body's own text:
    a pretty-printed body (its newlines between tokens) must reach the worker whole."""
    bot = await serve()
    for hook in list(emu.state.webhooks.values()):
        emu.state.set_webhook_status(hook["id"], "inactive")  # this test delivers it itself
    sent = await emu.post_message(person="alice", room="group", text="status", mention_bot=True)
    pretty = json.dumps(json.loads(envelope_for(emu, sent)), indent=2).encode()
    assert pretty.count(b"\n") > 10

    assert await post_to(bot.webhook_url, pretty) == 200

    await wait_for(lambda: bot_replies(emu, sent), 15, "the answer to the pretty-printed event")
    await bot.wait_idle()
    assert len(bot_replies(emu, sent)) == 1
    assert "not understood" not in bot.output()


async def test_lines_not_yet_written_are_written_when_the_link_closes() -> None:
    writer = LinkWriter()
    closed: list[bool] = []
    cast(Any, writer).close = lambda: closed.append(True)
    cast(Any, writer).wait_closed = lambda: asyncio.sleep(0)
    link = link_to(writer)
    link.accept("messages:M1", "messages", "created", {"id": "M1"}, T0, spooled=False)
    link.count("messages/created", "accepted")

    await link.close()  # in the same turn of the loop: nothing was written yet

    assert [m.get("key") or m.get("count") for m in writer.messages] == [
        "messages:M1", ["messages/created", "accepted"]]
    assert closed == [True]


async def test_a_killed_receiving_process_stops_serve_with_a_failure_status(
    emu: Emulator, serve: Serve
) -> None:
    bot = await serve()
    receiver = receiver_of(bot)

    os.kill(receiver, signal.SIGKILL)
    status = await asyncio.wait_for(bot.process.wait(), 15)

    assert status != 0, bot.output()  # a platform restarts it
    assert "the receiving process exited" in bot.output()
    await serve()  # the same port, at once
    await command_is_answered(emu)


async def test_a_killed_serve_takes_its_receiving_process_along_and_frees_the_port(
    emu: Emulator, serve: Serve
) -> None:
    first = await serve()
    receiver = receiver_of(first)

    await first.kill()
    await wait_for(lambda: not alive(receiver), 10, "the receiving process to go")

    second = await serve()  # the same port
    assert receiver_of(second) != receiver
    await command_is_answered(emu)


async def test_receiver_process_false_serves_alone_and_answers(emu: Emulator, serve: Serve) -> None:
    bot = await serve(RECEIVER_PROCESS="false")

    await command_is_answered(emu)

    assert bot.children() == set()
    assert "receiving process" not in bot.output()
    await bot.stop()


async def test_serve_on_an_in_memory_database_answers_in_one_process(
    emu: Emulator, tmp_path: Path
) -> None:
    # The receiving process would open a database of its own, empty: every webhook a 503.
    port = free_port()
    bot = await start_serve(
        emu, tmp_path, port=port, DATABASE_URL="sqlite://", PUBLIC_URL=f"http://127.0.0.1:{port}"
    )
    try:
        await command_is_answered(emu)
        assert bot.children() == set()
        assert all(d.ok for d in emu.deliveries)
    finally:
        await bot.stop()
