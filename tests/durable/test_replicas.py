"""Two `python -m bot serve` replicas on one PostgreSQL database, each getting every event."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.emulator import Emulator
from tests.e2e.harness import SECRET
from tests.e2e.helpers import card_text, envelope_for, puts, submit_data
from tests.procs import BotProcess, post_to, run_cli, start_serve, wait_for

pytestmark = pytest.mark.postgres
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
SETTING = "/telephony/config/emergencyCallNotification"


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A fresh, uniquely named PostgreSQL database, dropped afterwards."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    url = make_url(TEST_DATABASE_URL)
    name = f"ecn_durable_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def replicas(
    emu: Emulator, tmp_path: Path, database: str
) -> AsyncIterator[tuple[BotProcess, BotProcess]]:
    """Two replicas started at once (their migrations race too), each with its own webhooks."""
    pair = await asyncio.gather(
        *(
            start_serve(
                emu,
                tmp_path,
                log=tmp_path / f"bot-{name}.log",
                DATABASE_URL=database,
                INBOX_LEASE_SECONDS="2",
                SHUTDOWN_GRACE_SECONDS="1",
            )
            for name in ("a", "b")
        )
    )
    a, b = pair
    try:
        for name, bot in (("A", a), ("B", b)):
            await register(emu, bot, name)
        yield a, b
    finally:
        for bot in pair:
            if bot.process.returncode is None:
                await bot.kill()


async def register(emu: Emulator, bot: BotProcess, name: str) -> list[str]:
    """Webhooks for one replica, made as the bot's owner would, all with the same secret."""
    ids = []
    headers = {"Authorization": f"Bearer {emu.seed.bot_token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for resource in ("messages", "attachmentActions"):
            body = {
                "name": f"ecn-bot {resource} {name}",
                "targetUrl": bot.webhook_url,
                "resource": resource,
                "event": "created",
                "secret": SECRET,
            }
            async with http.post(f"{emu.base_url}/webhooks", json=body) as reply:
                assert reply.status == 200, await reply.text()
                ids.append((await reply.json())["id"])
    return ids


async def remove_webhooks(emu: Emulator) -> None:
    headers = {"Authorization": f"Bearer {emu.seed.bot_token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for hook_id in list(emu.state.webhooks):
            async with http.delete(f"{emu.base_url}/webhooks/{hook_id}") as reply:
                assert reply.status == 204


def answers(emu: Emulator) -> Counter[str]:
    """The bot's replies per group-space command (they go in the command's thread)."""
    return Counter(
        m["parentId"]
        for m in emu.state.messages.values()
        if m["personId"] == emu.seed.bot_id and m.get("parentId")
    )


async def all_idle(emu: Emulator, *bots: BotProcess) -> None:
    """No delivery in flight and nothing queued or running in either replica."""
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        await emu.idle(timeout=10)
        if not any(await asyncio.gather(*(bot.busy() for bot in bots))):
            await emu.idle(timeout=10)
            return
        assert asyncio.get_running_loop().time() < deadline, [b.output() for b in bots]
        await asyncio.sleep(0.05)


async def audit_rows(emu: Emulator, tmp_path: Path, database: str) -> list[dict[str, Any]]:
    status, out, err = await run_cli(
        emu, tmp_path, "audit", "export", "--format", "jsonl", DATABASE_URL=database
    )
    assert status == 0, err
    return [json.loads(line) for line in out.splitlines()]


async def test_every_event_to_both_replicas_runs_once(
    emu: Emulator, tmp_path: Path, database: str, replicas: tuple[BotProcess, BotProcess]
) -> None:
    a, b = replicas
    emu.faults.latency("/telephony", 0.05)
    commands: dict[str, str] = {}
    for i in range(12):
        person = ("alice", "uma")[i % 2]
        text = f"set email p{i}@example.com" if i % 3 else "status"
        sent = await emu.post_message(person=person, room="group", text=text, mention_bot=True)
        commands[sent["id"]] = text
    changes = {cid for cid, text in commands.items() if text.startswith("set email")}

    await wait_for(lambda: set(answers(emu)) >= set(commands), 30, "every command answered")
    await all_idle(emu, a, b)

    for cid in commands:  # Webex really gave each event to both replicas, and both said 200
        sent_to = {d.target for d in emu.deliveries if d.data_id == cid and d.ok}
        assert sent_to == {a.webhook_url, b.webhook_url}
    counts = answers(emu)
    assert {cid: counts[cid] for cid in commands} == dict.fromkeys(commands, 1)
    wanted = sorted(commands[cid].split()[-1] for cid in changes)
    assert sorted(w.json["emailAddress"] for w in puts(emu)) == wanted
    assert len(emu.calls("PUT", SETTING)) == len(changes)
    rows = await audit_rows(emu, tmp_path, database)
    assert sorted(r["event_key"] for r in rows) == sorted(f"messages:{cid}" for cid in changes)
    assert {r["outcome"] for r in rows} == {"applied"}
    ran = [bot.output().count(": set email applied") for bot in (a, b)]
    assert sum(ran) == len(changes), ran


async def test_two_changes_at_once_through_two_replicas_lose_nothing(
    emu: Emulator, tmp_path: Path, database: str, replicas: tuple[BotProcess, BotProcess]
) -> None:
    a, b = replicas
    await remove_webhooks(emu)  # the messages below reach the replicas only as we send them
    email = await emu.post_message(
        person="alice", room="group", mention_bot=True, text="set email x@example.com"
    )
    locations = await emu.post_message(
        person="uma", room="group", mention_bot=True, text="set all-locations on"
    )
    emu.faults.latency("/telephony", 0.3)  # each read-modify-write takes 0.6 s: they overlap

    statuses = await asyncio.gather(
        post_to(a.webhook_url, envelope_for(emu, email)),
        post_to(b.webhook_url, envelope_for(emu, locations)),
    )
    assert statuses == [200, 200]
    await wait_for(lambda: {email["id"], locations["id"]} <= set(answers(emu)), 15, "both answers")
    await all_idle(emu, a, b)

    assert emu.setting() == {
        "emergencyCallNotificationEnabled": False,
        "allowEmailNotificationAllLocationEnabled": True,
        "emailAddress": "x@example.com",
    }
    writes = puts(emu)
    assert len(writes) == 2
    assert writes[-1].json == emu.setting()  # the second writer read the first one's write
    gets = emu.calls("GET", SETTING)
    assert gets[-1].at >= writes[0].at  # serialized: the later read came after the first write
    assert ": set email applied" in a.output()
    assert ": set all-locations applied" in b.output()
    rows = await audit_rows(emu, tmp_path, database)
    assert sorted((r["action"], r["outcome"]) for r in rows) == [
        ("set all-locations", "applied"),
        ("set email", "applied"),
    ]


def action_envelope(emu: Emulator, action: dict[str, Any]) -> bytes:
    """An attachmentActions/created envelope for `action`, shaped as Webex sends it."""
    return json.dumps(
        {
            "id": "webhook-under-test",
            "name": "ecn-bot attachmentActions",
            "targetUrl": "http://127.0.0.1/webhooks/webex",
            "resource": "attachmentActions",
            "event": "created",
            "orgId": emu.seed.org_id,
            "createdBy": emu.seed.bot_id,
            "appId": "app",
            "ownedBy": "creator",
            "status": "active",
            "created": "2026-11-27T10:00:00.000Z",
            "actorId": action["personId"],
            "data": {
                k: action[k] for k in ("id", "type", "messageId", "personId", "roomId", "created")
            },
        }
    ).encode()


async def test_one_confirmation_pressed_twice_across_replicas_turns_off_once(
    emu: Emulator, tmp_path: Path, database: str, replicas: tuple[BotProcess, BotProcess]
) -> None:
    a, b = replicas
    emu.set_setting(emergencyCallNotificationEnabled=True)
    sent = await emu.post_message(person="alice", room="group", text="disable", mention_bot=True)
    await wait_for(lambda: answers(emu)[sent["id"]], 15, "the confirmation card")
    confirm = next(m for m in emu.state.messages.values() if m.get("parentId") == sent["id"])
    values = submit_data(confirm, "Turn off notifications")
    await all_idle(emu, a, b)
    await remove_webhooks(emu)  # each press reaches one replica, as we send it
    presses = [
        await emu.press_card(person="alice", message_id=confirm["id"], inputs=values)
        for _ in range(2)
    ]

    statuses = await asyncio.gather(
        *(
            post_to(bot.webhook_url, action_envelope(emu, press))
            for bot, press in zip((a, b), presses, strict=True)
        )
    )
    assert statuses == [200, 200]

    def texts() -> list[str]:
        return [
            card_text(m)
            for m in emu.state.messages.values()
            if m.get("parentId") == sent["id"] and m["id"] != confirm["id"]
        ]

    await wait_for(lambda: len(texts()) >= 2, 15, "both presses answered")
    await all_idle(emu, a, b)

    assert [w.json["emergencyCallNotificationEnabled"] for w in puts(emu)] == [False]
    assert len(texts()) == 2
    assert sum("already used" in t for t in texts()) == 1, texts()
    rows = await audit_rows(emu, tmp_path, database)
    # The losing press is an attempted change too: it is audited as refused.
    assert sorted((r["action"], r["outcome"]) for r in rows) == [
        ("disable", "applied"), ("disable", "refused")]
