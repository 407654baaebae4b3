"""Webhook sync, list and delete against the emulator: real SDK, real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.emulator import Emulator
from bot.ops.webhooks import sync_webhooks, webhook_name
from bot.webex.gateway import WebexGateway, standalone_gateway
from bot.webex.retry import RetryPolicy
from tests.e2e.harness import SECRET
from tests.procs import run_cli

TARGET = "https://bot.example.com/webhooks/webex"
EVENTS = {("messages", "created"), ("attachmentActions", "created"), ("memberships", "created")}


@pytest.fixture
async def webex(emu: Emulator) -> AsyncIterator[WebexGateway]:
    async with standalone_gateway(
        emu.base_url, emu.seed.bot_token, None, policy=RetryPolicy(max_retries=1), timeout=5.0
    ) as gateway:
        yield gateway


def bot_hooks(emu: Emulator) -> list[dict]:
    return [h for h in emu.state.webhooks.values() if h["createdBy"] == emu.seed.bot_id]


def writes(emu: Emulator) -> list:
    return [c for c in emu.calls() if c.path.startswith("/webhooks") and c.method != "GET"]


async def cli(emu: Emulator, tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """Run `python -m bot …` as an operator would, without the admin token unless given."""
    return await run_cli(emu, tmp_path, *args, **{"WEBEX_ADMIN_TOKEN": "", **env})


async def test_sync_from_nothing_creates_three_with_target_and_secret(
    emu: Emulator, webex: WebexGateway
) -> None:
    report = await sync_webhooks(webex, TARGET, SECRET)

    hooks = bot_hooks(emu)
    assert {(h["resource"], h["event"]) for h in hooks} == EVENTS
    assert len(hooks) == 3
    for hook in hooks:
        assert hook["targetUrl"] == TARGET
        assert hook["secret"] == SECRET
        assert hook["status"] == "active"
        assert hook["name"] == webhook_name(hook["resource"], hook["event"])
    assert report.count("created") == 3
    assert len(emu.calls("POST", "/webhooks")) == 3


async def test_a_second_sync_changes_nothing(emu: Emulator, webex: WebexGateway) -> None:
    await sync_webhooks(webex, TARGET, SECRET)
    before = len(writes(emu))

    report = await sync_webhooks(webex, TARGET, SECRET)

    assert len(writes(emu)) == before
    assert report.count("unchanged") == 3
    assert not report.changed


async def test_a_stale_url_is_updated_in_place(emu: Emulator, webex: WebexGateway) -> None:
    await sync_webhooks(webex, "https://old.example.com/webhooks/webex", SECRET)
    ids = {h["id"] for h in bot_hooks(emu)}

    report = await sync_webhooks(webex, TARGET, SECRET)

    assert {h["id"] for h in bot_hooks(emu)} == ids
    assert {h["targetUrl"] for h in bot_hooks(emu)} == {TARGET}
    assert report.count("updated") == 3
    assert emu.calls("POST", "/webhooks")[3:] == []
    assert emu.calls("DELETE", "/webhooks/*") == []
    assert all(c.json["secret"] == SECRET for c in emu.calls("PUT", "/webhooks/*"))


async def test_a_changed_secret_is_put(emu: Emulator, webex: WebexGateway) -> None:
    await sync_webhooks(webex, TARGET, "the-old-secret")

    report = await sync_webhooks(webex, TARGET, SECRET)

    assert report.count("updated") == 3
    assert {h["secret"] for h in bot_hooks(emu)} == {SECRET}


async def test_a_disabled_webhook_is_reactivated(emu: Emulator, webex: WebexGateway) -> None:
    await sync_webhooks(webex, TARGET, SECRET)
    hook = next(h for h in bot_hooks(emu) if h["resource"] == "messages")
    emu.state.set_webhook_status(hook["id"], "inactive")

    report = await sync_webhooks(webex, TARGET, SECRET)

    assert emu.state.webhooks[hook["id"]]["status"] == "active"
    assert report.count("reactivated") == 1
    assert report.count("unchanged") == 2
    [put] = emu.calls("PUT", "/webhooks/*")
    assert put.path == f"/webhooks/{hook['id']}"
    assert put.json["status"] == "active"


async def test_duplicates_of_its_own_are_deleted_down_to_one(
    emu: Emulator, webex: WebexGateway
) -> None:
    await sync_webhooks(webex, TARGET, SECRET)
    extra = emu.state.add_webhook(
        emu.seed.bot_id,
        "ecn-bot messages",
        "https://x.example/h",
        "messages",
        "created",
        secret=SECRET,
    )

    report = await sync_webhooks(webex, TARGET, SECRET)

    assert extra["id"] not in emu.state.webhooks
    assert len(bot_hooks(emu)) == 3
    assert report.count("deleted") == 1


async def test_webhooks_it_did_not_create_are_left_alone(
    emu: Emulator, webex: WebexGateway
) -> None:
    alice = emu.seed.people["alice"].id
    theirs = emu.state.add_webhook(
        alice, "ecn-bot messages/created", "https://alice.example/h", "messages", "created"
    )
    foreign = emu.state.add_webhook(
        emu.seed.bot_id,
        "someone's integration",
        "https://other.example/h",
        "messages",
        "created",
        secret="theirs",
    )
    emu.state.set_webhook_status(foreign["id"], "inactive")
    snapshot = {k: dict(v) for k, v in emu.state.webhooks.items()}

    await sync_webhooks(webex, TARGET, SECRET)
    await sync_webhooks(webex, TARGET, SECRET)

    assert emu.state.webhooks[theirs["id"]] == snapshot[theirs["id"]]
    assert emu.state.webhooks[foreign["id"]] == snapshot[foreign["id"]]
    touched = {c.path for c in writes(emu) if c.method in ("PUT", "DELETE")}
    assert touched == set()
    assert len([h for h in bot_hooks(emu) if h["name"].startswith("ecn-bot ")]) == 3


async def test_cli_sync_list_delete(emu: Emulator, tmp_path: Path) -> None:
    foreign = emu.state.add_webhook(
        emu.seed.bot_id, "someone's integration", "https://other.example/h", "rooms", "created"
    )

    status, out, _ = await cli(emu, tmp_path, "webhooks", "sync", "--url", TARGET)
    assert status == 0
    assert sum(line.startswith("created ") for line in out.splitlines()) == 3
    status, out, _ = await cli(emu, tmp_path, "webhooks", "sync", "--url", TARGET)
    assert status == 0
    assert sum(line.startswith("unchanged ") for line in out.splitlines()) == 3
    assert len(emu.calls("POST", "/webhooks")) == 3

    status, out, err = await cli(emu, tmp_path, "webhooks", "list")
    assert status == 0
    lines = out.strip().splitlines()
    assert len(lines) == 4
    assert (
        sum(
            "ecn-bot messages/created" in line and TARGET in line and "active" in line
            for line in lines
        )
        == 1
    )
    assert SECRET not in out + err

    status, out, _ = await cli(emu, tmp_path, "webhooks", "delete")
    assert status == 0
    assert list(emu.state.webhooks) == [foreign["id"]]


async def test_cli_sync_without_a_url_is_a_one_line_error(emu: Emulator, tmp_path: Path) -> None:
    status, _, err = await cli(emu, tmp_path, "webhooks", "sync")

    assert status == 2
    assert err.strip().count("\n") == 0
    assert "PUBLIC_URL" in err
    assert emu.calls() == []


async def test_cli_sync_uses_public_url(emu: Emulator, tmp_path: Path) -> None:
    status, _, _ = await cli(
        emu, tmp_path, "webhooks", "sync", PUBLIC_URL="https://bot.example.com/"
    )

    assert status == 0
    assert {h["targetUrl"] for h in bot_hooks(emu)} == {TARGET}
