"""kill -9 of `python -m bot serve` mid-event, then a restart on the same SQLite file: every
acknowledged change is applied once, answered once and audited once; stale events expire."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.emulator import Emulator
from bot.emulator.pipeline import PREFIX
from bot.emulator.server import make_app
from tests.e2e.helpers import puts
from tests.procs import Serve, restartable_serve, run_cli, wait_for

SETTING = "/telephony/config/emergencyCallNotification"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class HoldAfterApply:
    """Webex applied the PUT but its answer has not left yet: the emulator's own faults and
    latencies all act before the operation, so this one is a middleware of the test's."""

    seconds: float = 0.0
    applied: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def hold() -> HoldAfterApply:
    return HoldAfterApply()


@pytest.fixture
async def emu(hold: HoldAfterApply) -> AsyncIterator[Emulator]:
    emulator = Emulator()

    @web.middleware
    async def hold_answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if hold.seconds and request.method == "PUT" and request.path == PREFIX + SETTING:
            hold.applied.set()
            await emulator.pipeline.sleep(hold.seconds)
        return response

    app = make_app(emulator)
    app.middlewares.append(hold_answer)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        emulator.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}{PREFIX}"
        yield emulator
    finally:
        await emulator.close()
        await runner.cleanup()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/bot.db"


@pytest.fixture
async def serve(emu: Emulator, tmp_path: Path, db_url: str) -> AsyncIterator[Serve]:
    async with restartable_serve(emu, tmp_path, db_url) as start:
        yield start


def answers(emu: Emulator, message_id: str) -> list[dict[str, Any]]:
    """The bot's replies in the thread of a group-space command."""
    return [
        m
        for m in emu.state.messages.values()
        if m["personId"] == emu.seed.bot_id and m.get("parentId") == message_id
    ]


async def exported(emu: Emulator, tmp_path: Path, db_url: str) -> list[dict[str, Any]]:
    status, out, err = await run_cli(
        emu, tmp_path, "audit", "export", "--format", "jsonl", DATABASE_URL=db_url
    )
    assert status == 0, err
    return [json.loads(line) for line in out.splitlines()]


def acknowledged(emu: Emulator, message_id: str) -> Callable[[], bool]:
    """Whether Webex saw the bot's 2xx for the message's delivery (the event is recorded)."""
    return lambda: any(d.data_id == message_id and d.ok for d in emu.deliveries)


async def crash_with_command(emu: Emulator, serve: Serve, text: str) -> dict[str, Any]:
    """Start the bot, send `text` as alice, SIGKILL it as soon as Webex saw the 200."""
    first = await serve()
    emu.faults.latency("/telephony", 1.5)  # GET (and PUT) of the setting: a wide window
    sent = await emu.post_message(person="alice", room="group", text=text, mention_bot=True)
    await wait_for(acknowledged(emu, sent["id"]), 10, "Webex to see the bot's 200")
    await first.kill()
    assert puts(emu) == [] and answers(emu, sent["id"]) == [], "the crash came too late"
    emu.faults.latency("/telephony", 0)
    return sent


def audited(rows: list[dict[str, Any]], sent: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in rows if r["event_key"] == f"messages:{sent['id']}"]


async def test_killed_after_the_ack_before_the_put_applies_once_after_restart(
    emu: Emulator, tmp_path: Path, db_url: str, serve: Serve
) -> None:
    sent = await crash_with_command(emu, serve, "enable ops@example.com")

    second = await serve()
    await wait_for(lambda: answers(emu, sent["id"]), 15, "the answer after the restart")
    await second.wait_idle()
    await second.stop()

    assert [w.json for w in puts(emu)] == [
        {
            "emergencyCallNotificationEnabled": True,
            "allowEmailNotificationAllLocationEnabled": False,
            "emailAddress": "ops@example.com",
        }
    ]
    assert len(answers(emu, sent["id"])) == 1
    rows = audited(await exported(emu, tmp_path, db_url), sent)
    assert [(r["action"], r["outcome"], r["after"]["emailAddress"]) for r in rows] == [
        ("enable", "applied", "ops@example.com")
    ]
    assert f"event messages:{sent['id']}: resumed" in second.output()


async def test_killed_while_the_applied_put_is_unanswered_needs_no_second_put(
    emu: Emulator, tmp_path: Path, db_url: str, serve: Serve, hold: HoldAfterApply
) -> None:
    first = await serve()
    hold.seconds = 5.0
    sent = await emu.post_message(
        person="alice", room="group", text="set email new@example.com", mention_bot=True
    )
    await asyncio.wait_for(hold.applied.wait(), 10)  # Webex applied it; the 204 is held back
    await first.kill()
    hold.seconds = 0
    assert emu.setting()["emailAddress"] == "new@example.com"
    assert answers(emu, sent["id"]) == []

    second = await serve()
    await wait_for(lambda: answers(emu, sent["id"]), 15, "the answer after the restart")
    await second.wait_idle()
    await second.stop()

    assert len(emu.calls("PUT", SETTING)) == 1  # the restart did not write again
    assert emu.setting()["emailAddress"] == "new@example.com"
    assert len(answers(emu, sent["id"])) == 1
    rows = audited(await exported(emu, tmp_path, db_url), sent)
    assert [
        (r["outcome"], r["before"]["emailAddress"], r["after"]["emailAddress"]) for r in rows
    ] == [("applied", "security@acme.example", "new@example.com")]


async def test_an_event_older_than_the_resume_window_is_expired_and_logged_not_run(
    emu: Emulator, tmp_path: Path, db_url: str, serve: Serve
) -> None:
    window = 2
    sent = await crash_with_command(emu, serve, "enable late@example.com")
    acked_at = next(d.at for d in emu.deliveries if d.data_id == sent["id"] and d.ok)
    await wait_for(
        lambda: time.time() > acked_at + window + 0.2, window + 2, "the resume window to pass"
    )

    second = await serve(INBOX_RESUME_WINDOW_SECONDS=str(window))
    # The first sweep runs before /healthz answers 200: the decision is already made.
    await second.wait_idle()
    await second.stop()

    assert (
        f"event messages:{sent['id']} is older than 0:00:02 and was never finished: "
        "expired" in second.output()
    )
    assert "resumed" not in second.output()
    assert puts(emu) == []
    assert answers(emu, sent["id"]) == []
    assert audited(await exported(emu, tmp_path, db_url), sent) == []
