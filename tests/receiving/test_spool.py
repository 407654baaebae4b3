"""When the inbox refuses a webhook, the receiver still answers 200: the event goes to the
spool file (or, if that fails too, to the worker's memory) marked to be recorded, and the
log says so once, not once per event (issue 14 items 1 and 14)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from pytest_aiohttp import AiohttpClient

from bot.metrics import Metrics
from bot.receiving.guard import guard_for
from bot.receiving.journal import IntakeJournal
from bot.receiving.journal_worker import JournalOwnMessages, read_intake
from bot.receiving.process import FrontSpec, create_front_app
from bot.receiving.spool import Spool
from bot.security import SIGNATURE_HEADER, sign
from bot.server.ops_listener import Health
from bot.server.spool_prune import prune_spool, pruned_spool
from bot.server.taking import Events
from bot.settings import Settings
from bot.store import Store
from tests.ops.test_receiver_process import SECRET, T0, LinkWriter, front_settings, link_to


async def refusing(key: str, resource: str, event: str, body: dict[str, Any],
                   now: datetime) -> bool:
    raise ConnectionRefusedError("the database is down")


def envelope(i: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"resource": "messages", "event": "created",
                       "data": {"id": f"M{i}", "roomId": "R1", "personId": "ALICE"}}).encode()
    return body, {SIGNATURE_HEADER: sign(SECRET.encode(), body),
                  "Content-Type": "application/json"}


@pytest.mark.parametrize("writable", [True, False], ids=["spool-file", "memory-only"])
async def test_a_webhook_the_inbox_refuses_is_acknowledged_and_kept(
    aiohttp_client: AiohttpClient, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    writable: bool,
) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / ("spool.db" if writable else "no-such-dir/spool.db")
    writer = LinkWriter()
    link = link_to(writer, journaled=False)  # PostgreSQL: the receiver writes the inbox
    spool = Spool(str(path), link.recording)
    spec = FrontSpec(-1, "", str(tmp_path / "e.sock"), str(tmp_path / "h.sock"), "BOT", "1",
                     30.0)
    client = await aiohttp_client(create_front_app(front_settings(), spec, refusing, link,
                                                   spool, guard_for(100, 10)))
    for i in range(5):
        body, headers = envelope(i)
        async with client.post("/webhooks/webex", data=body, headers=headers) as reply:
            assert reply.status == 200  # never a 503: Webex would not deliver it again
            assert await reply.json() == {"status": "accepted"}
    spool.close()

    handed = [m for m in writer.messages if "key" in m]
    assert [m["key"] for m in handed] == [f"messages:M{i}" for i in range(5)]
    assert all(m["journaled"] for m in handed)  # the worker records them in the inbox
    assert [m for m in writer.messages if "recording_failing" in m] == [
        {"recording_failing": True}]
    outcome = "spooled" if writable else "kept_in_memory"
    assert writer.messages.count({"count": ["messages/created", outcome]}) == 5
    if writable:
        assert [row[0] for row in read_intake(str(path), T0.replace(year=2000))] == [
            f"messages:M{i}" for i in range(5)]
    assert caplog.text.count("recording webhooks fails") == 1
    assert "Traceback" not in caplog.text


class WakingRunner:
    """The worker's runner as the deferral uses it: told to sweep."""

    owner = "1"
    lease = timedelta(seconds=30)

    def __init__(self) -> None:
        self.woken = asyncio.Event()

    def wake(self) -> None:
        self.woken.set()


async def test_events_the_receiver_deferred_are_brought_from_its_journal_into_the_inbox(
    tmp_path: Path,
) -> None:
    journal = IntakeJournal(str(tmp_path / "bot.db-intake"))
    for i in range(3):
        journal.record(f"messages:D{i}", "messages", "created", {"data": {"id": f"D{i}"}},
                       T0 + timedelta(seconds=i))
    journal.close()
    store = await Store.open(f"sqlite:///{tmp_path / 'bot.db'}")
    runner = WakingRunner()
    metrics = Metrics()
    events = Events(cast(Any, runner), store, metrics, Health(store, metrics, lambda: None),
                    window=timedelta(minutes=10), clock=lambda: T0, journal=journal.path)
    try:
        events.handle({"deferred": (T0 + timedelta(seconds=1)).isoformat()})
        await asyncio.wait_for(runner.woken.wait(), 5)

        claimable = await store.claimable_events(T0 + timedelta(seconds=5), timedelta(hours=1))
        assert [e.key for e in claimable] == ["messages:D1", "messages:D2"]  # since the note
    finally:
        await events.close()
        await store.close()


async def test_the_spool_file_forgets_what_the_inbox_has_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "ecn-bot-spool.db")
    spool = Spool(path)
    window = timedelta(minutes=10)
    for name, at in (("A", T0), ("B", T0), ("C", T0), ("OLD", T0 - window - timedelta(1))):
        assert spool.keep(f"messages:{name}", "messages", "created",
                          {"data": {"id": name}}, at)
    store = await Store.open(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        # The worker recorded A and B again; C not yet (the database refused it again).
        for name in ("A", "B"):
            await store.record_event(f"messages:{name}", "messages", "created", {}, T0)
        assert await prune_spool(path, store, lambda: T0, window) == 3  # A, B and OLD

        kept = [key for key, *_ in read_intake(path, T0 - 2 * window)]
        assert kept == ["messages:C"]  # not in the inbox: never forgotten
        # A crash after recording C and before pruning: a start brings C in again (once).
        await store.record_event("messages:C", "messages", "created", {}, T0)
        await store.record_events(read_intake(path, T0 - window))
        assert await prune_spool(path, store, lambda: T0, window) == 1
        assert read_intake(path, T0 - 2 * window) == []
        pending = await store.claimable_events(T0, window)
        assert sorted(e.key for e in pending) == ["messages:A", "messages:B", "messages:C"]
        # The receiver keeps writing to the file it has open.
        assert spool.keep("messages:D", "messages", "created", {}, T0)
        assert [key for key, *_ in read_intake(path, T0 - window)] == ["messages:D"]
        # Ids of the bot's own group messages in the same file go after the resume window.
        await spool.keep_own("OLD-OWN", "GROUP", "CMD", T0 - window - timedelta(1))
        await spool.keep_own("OWN", "GROUP", "CMD", T0)
        await prune_spool(path, store, lambda: T0, window)
        kept_own = JournalOwnMessages(path)
        assert await kept_own.own_messages_in("GROUP", "CMD", None) == ["OWN"]
    finally:
        spool.close()
        await store.close()


@pytest.mark.parametrize(("database", "receiver", "pruned"), [
    ("postgresql://u@h/db", True, "spool.db"),
    ("postgresql://u@h/db", False, "spool.db"),
    ("sqlite:///bot.db", False, "bot.db-intake"),
    ("sqlite:///bot.db", True, None),  # the receiving process's journal: it prunes it
    ("sqlite:///:memory:", False, None),
])
def test_which_spool_file_the_worker_prunes(database: str, receiver: bool,
                                            pruned: str | None) -> None:
    settings = Settings(_env_file=None, DATABASE_URL=database, RECEIVER_PROCESS=receiver,
                        SPOOL_PATH="spool.db")
    assert pruned_spool(settings) == pruned
