"""Outages against the real `serve` and the emulator (issue 14 items 1 and 10): the database
going away never turns a delivery into a 5xx, a webhook Webex disabled is re-activated, and a
killed process's acknowledged commands run within seconds, not after its lease."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from bot.emulator import Emulator
from bot.receiving.journal_worker import read_intake
from tests.e2e.helpers import envelope_for
from tests.procs import (
    BotProcess,
    free_port,
    post_to,
    restartable_serve,
    start_serve,
    wait_for,
)

pytestmark = pytest.mark.load
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
LEASE = "30"  # the default: what a killed process's events used to wait out


class Gate:
    """A TCP proxy in front of PostgreSQL that the test can shut: while shut, connections are
    accepted and dropped at once, and those open are cut (the database went away)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.open = True
        self.port = 0
        self._pairs: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def shut(self) -> None:
        self.open = False
        for writer in list(self._pairs):
            writer.transport.abort()

    async def close(self) -> None:
        self.shut()
        if self._server is not None:
            self._server.close()

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self._pairs |= {writer, up_writer}

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._pairs -= {writer, up_writer}


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A database of its own on the test server (`serve` takes no schema); its URL."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(TEST_DATABASE_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def answers(emu: Emulator, message_id: str) -> list[dict[str, Any]]:
    return [m for m in emu.state.messages.values()
            if m["personId"] == emu.seed.bot_id and m.get("parentId") == message_id]


def tracebacks_in(log: str) -> str:
    """Each traceback in `log` with the lines before it: what a failure must show (the log's
    tail alone hid them when this assertion failed once in a full run)."""
    found, start = [], log.find("Traceback")
    while start >= 0:
        found.append(log[max(0, start - 400):start + 2500])
        start = log.find("Traceback", start + 1)
    return "\n-----\n".join(found)


async def ready(bot: BotProcess) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{bot.ops_url}/readyz") as reply:
        return reply.status, await reply.json()


async def until_ready_is(bot: BotProcess, status: int, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got, body = await ready(bot)
        if got == status:
            return body
        assert time.monotonic() < deadline, (got, body, bot.output()[-3000:])
        await asyncio.sleep(0.2)


@pytest.mark.postgres
@pytest.mark.parametrize("receiver", [True, False], ids=["receiving-process", "one-process"])
async def test_a_database_outage_gets_no_5xx_and_every_command_is_answered_after(
    emu: Emulator, tmp_path: Path, receiver: bool
) -> None:
    async with fresh_database() as url:
        host, port = url.split("@", 1)[1].split("/", 1)[0].split(":")
        gate = Gate((host, int(port)))
        await gate.start()
        gated = url.replace(f"{host}:{port}", f"127.0.0.1:{gate.port}")
        try:
            async with restartable_serve(emu, tmp_path, gated) as serve:
                bot = await serve(RECEIVER_PROCESS=str(receiver).lower(), LOG_LEVEL="INFO")
                await until_ready_is(bot, 200, 10)
                gate.shut()
                sent = [await emu.post_message(person="alice", room="group",
                                               text="status", mention_bot=True)
                        for _ in range(20)]
                ids = {m["id"] for m in sent}
                await wait_for(lambda: {d.data_id for d in emu.deliveries} >= ids, 20,
                               "the 20 deliveries")
                statuses = [d.status for d in emu.deliveries if d.data_id in ids]
                assert statuses == [200] * 20  # acknowledged, not 503: nothing is lost
                why = await until_ready_is(bot, 503, 10)
                assert "webhooks cannot be recorded in the inbox (they are spooled)" in why["why"]
                spool = str(tmp_path / "ecn-bot-spool.db")
                held = {row[0] for row in read_intake(spool, datetime(2000, 1, 1, tzinfo=UTC))}
                assert {f"messages:{i}" for i in ids} <= held  # the spool file holds them

                gate.open = True
                await wait_for(lambda: all(answers(emu, i) for i in ids), 60,
                               "every command answered after the outage")
                await until_ready_is(bot, 200, 10)
                await bot.wait_idle(20)
                assert {i: len(answers(emu, i)) for i in ids} == dict.fromkeys(ids, 1)
                # The spool file held them while the database was down; the inbox has them
                # now, so the file lets them go.
                await wait_for(lambda: not read_intake(spool, datetime(2000, 1, 1, tzinfo=UTC)),
                               15, "the spool file pruned")
                log = bot.output()
                # One warning when it started failing, not a traceback per delivery.
                assert log.count("Traceback") <= 2, tracebacks_in(log)
        finally:
            await gate.close()


@contextlib.asynccontextmanager
async def watching(emu: Emulator, tmp_path: Path
                   ) -> AsyncIterator[tuple[BotProcess, dict[str, Any]]]:
    """`serve` looking at its webhooks twice a second; and its messages webhook."""
    async with restartable_serve(emu, tmp_path, f"sqlite:///{tmp_path / 'bot.db'}") as serve:
        bot = await serve(WEBHOOK_CHECK_SECONDS="0.5")
        [hook] = [h for h in emu.state.webhooks.values() if h["resource"] == "messages"]
        assert hook["status"] == "active"
        yield bot, hook


@pytest.mark.parametrize(("receiver", "locked"), [(True, "bot.db-intake"), (False, "bot.db")],
                         ids=["receiving-process", "one-process"])
async def test_sqlite_refusing_writes_gets_no_5xx_and_every_command_is_answered(
    emu: Emulator, tmp_path: Path, receiver: bool, locked: str
) -> None:
    async with restartable_serve(emu, tmp_path, f"sqlite:///{tmp_path / 'bot.db'}") as serve:
        bot = await serve(RECEIVER_PROCESS=str(receiver).lower())
        # Another process holds the write lock of the file webhooks are recorded in, as a
        # full disk or a stuck backup would make every write fail.
        holder = sqlite3.connect(tmp_path / locked, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            sent = [await emu.post_message(person="alice", room="group", text="status",
                                           mention_bot=True) for _ in range(3)]
            ids = {m["id"] for m in sent}
            await wait_for(lambda: {d.data_id for d in emu.deliveries} >= ids, 30,
                           "the deliveries")
            assert [d.status for d in emu.deliveries if d.data_id in ids] == [200] * 3
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await wait_for(lambda: all(answers(emu, i) for i in ids), 60, "every answer")
        await bot.wait_idle(20)
        assert {i: len(answers(emu, i)) for i in ids} == dict.fromkeys(ids, 1)
        assert "recording webhooks fails" in bot.output()


@pytest.mark.parametrize("receiver", [True, False], ids=["receiving-process", "one-process"])
async def test_sqlite_on_a_full_disk_gets_no_5xx_and_every_command_is_answered_after(
    emu: Emulator, tmp_path: Path, receiver: bool
) -> None:
    port = free_port()
    bot = await start_serve(emu, tmp_path, port=port, piped=True,
                            RECEIVER_PROCESS=str(receiver).lower(),
                            DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
                            PUBLIC_URL=f"http://127.0.0.1:{port}")
    processes = {bot.process.pid, *bot.children()}
    try:
        await bot.wait_idle()
        # As a full disk does: no write may make a file longer (EFBIG; Python ignores
        # SIGXFSZ). Only the soft limit: it is put back after.
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        for pid in processes:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, hard))
        try:
            sent = [await emu.post_message(person="alice", room="group", text="status",
                                           mention_bot=True) for _ in range(3)]
            ids = {m["id"] for m in sent}
            await wait_for(lambda: {d.data_id for d in emu.deliveries} >= ids, 30,
                           "the deliveries")
            assert [d.status for d in emu.deliveries if d.data_id in ids] == [200] * 3
            await wait_for(lambda: "recording webhooks fails" in bot.output(), 10, "the warning")
            assert "disk I/O error" in bot.output()  # a write refused, not a lock held
        finally:
            for pid in processes:
                resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))
        await wait_for(lambda: all(answers(emu, i) for i in ids), 60, "every answer")
        await bot.wait_idle(20)
        assert {i: len(answers(emu, i)) for i in ids} == dict.fromkeys(ids, 1)
        assert "Traceback" not in bot.output()
    finally:
        await bot.stop()


async def test_a_webhook_webex_disabled_is_reactivated_and_readiness_says_so(
    emu: Emulator, tmp_path: Path
) -> None:
    async with watching(emu, tmp_path) as (bot, hook):
        emu.state.set_webhook_status(hook["id"], "inactive")  # 100 failures in 5 minutes

        await wait_for(lambda: emu.state.webhooks[hook["id"]]["status"] == "active", 10,
                       "the bot to re-activate its webhook")
        [put] = emu.calls("PUT", f"/webhooks/{hook['id']}")
        assert put.json["status"] == "active"
        assert put.json["targetUrl"] == hook["targetUrl"]
        said = f"webhook {hook['id']} (ecn-bot messages/created) was inactive"
        await wait_for(lambda: said in bot.output(), 5, "the warning in the log")
        sent = await emu.post_message(person="alice", room="group", text="status",
                                      mention_bot=True)
        await wait_for(lambda: answers(emu, sent["id"]), 10, "deliveries to flow again")
        async with aiohttp.ClientSession() as http, http.get(f"{bot.ops_url}/metrics") as r:
            assert "ecn_bot_webhooks_reactivated_total 1.0" in await r.text()
        await until_ready_is(bot, 200, 5)


async def test_a_webhook_that_cannot_be_reactivated_makes_the_bot_not_ready(
    emu: Emulator, tmp_path: Path
) -> None:
    async with watching(emu, tmp_path) as (bot, hook):
        emu.faults.add(path=f"/webhooks/{hook['id']}", method="PUT", status=500, times=None)
        emu.state.set_webhook_status(hook["id"], "inactive")

        why = await until_ready_is(bot, 503, 10)
        assert why["why"] == ["webhooks inactive at Webex: ecn-bot messages/created"]
        emu.faults.clear()
        await until_ready_is(bot, 200, 10)


async def killed_after_the_ack(emu: Emulator, bot: BotProcess) -> dict[str, Any]:
    """alice's command is acknowledged and in flight (Webex slow); then SIGKILL."""
    emu.faults.latency("/telephony", 3.0)
    sent = await emu.post_message(person="alice", room="group", text="status",
                                  mention_bot=True)
    await wait_for(lambda: any(d.data_id == sent["id"] and d.ok for d in emu.deliveries), 10,
                   "the acknowledgement")
    await asyncio.sleep(0.3)  # the worker has it under its lease
    await bot.kill()
    emu.faults.latency("/telephony", 0)
    assert answers(emu, sent["id"]) == []
    return sent


async def test_sqlite_a_restart_after_kill_9_resumes_at_once_not_after_the_lease(
    emu: Emulator, tmp_path: Path
) -> None:
    async with restartable_serve(emu, tmp_path, f"sqlite:///{tmp_path / 'bot.db'}") as serve:
        sent = await killed_after_the_ack(emu, await serve(INBOX_LEASE_SECONDS=LEASE))
        restarted = time.monotonic()
        second = await serve(INBOX_LEASE_SECONDS=LEASE)
        await wait_for(lambda: answers(emu, sent["id"]), 10, "the answer after the restart")
        # Within seconds of the restart: the dead process's 30 s lease was not waited out.
        assert time.monotonic() - restarted < float(LEASE) / 2
        await second.wait_idle()
        assert len(answers(emu, sent["id"])) == 1


@pytest.mark.postgres
async def test_postgresql_a_surviving_replica_resumes_a_killed_ones_events_within_seconds(
    emu: Emulator, tmp_path: Path
) -> None:
    async with fresh_database() as url:
        env = {"DATABASE_URL": url, "INBOX_LEASE_SECONDS": LEASE}
        survivor = await start_serve(emu, tmp_path, **env)
        victim = await start_serve(emu, tmp_path, **env)
        try:
            emu.faults.latency("/telephony", 3.0)
            sent = await emu.post_message(person="alice", room="group", text="status",
                                          mention_bot=True)  # no webhooks: posted by hand
            assert await post_to(victim.webhook_url, envelope_for(emu, sent)) == 200
            await asyncio.sleep(0.5)  # the victim runs it, under its lease
            await victim.kill()
            killed = time.monotonic()
            emu.faults.latency("/telephony", 0)

            await wait_for(lambda: answers(emu, sent["id"]), 15, "the survivor's answer")
            assert time.monotonic() - killed < float(LEASE) / 2
            await survivor.wait_idle()
            assert len(answers(emu, sent["id"])) == 1
        finally:
            await survivor.stop()
            if victim.process.returncode is None:
                await victim.kill()
