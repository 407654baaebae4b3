"""Webhook sync, list and delete against the emulator: real SDK, real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.emulator import Emulator
from bot.store import Store
from bot.webex.gateway import WebexGateway, standalone_gateway
from bot.webex.retry import RetryPolicy
from bot.webex.webhooks import SyncReport, sync_webhooks, webhook_name
from tests.e2e.harness import SECRET
from tests.procs import free_port, run_cli, start_serve

TARGET = "https://bot.example.com/webhooks/webex"
EVENTS = {("messages", "created"), ("attachmentActions", "created"), ("memberships", "created")}
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
async def webex(emu: Emulator) -> AsyncIterator[WebexGateway]:
    async with standalone_gateway(
        emu.base_url, emu.seed.bot_token, None, policy=RetryPolicy(max_retries=1), timeout=5.0
    ) as gateway:
        yield gateway


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """This deployment's database (where it remembers its webhooks)."""
    opened = await Store.open(f"sqlite:///{tmp_path / 'deployment.db'}")
    yield opened
    await opened.close()


Sync = Callable[..., Awaitable[SyncReport]]


@pytest.fixture
def sync(webex: WebexGateway, store: Store) -> Sync:
    """`await sync(target, secret)`: a sync by this deployment (its database is `store`)."""

    async def run(target: str = TARGET, secret: str = SECRET, registry: Store = store
                  ) -> SyncReport:
        return await sync_webhooks(webex, registry, target, secret)

    return run


def bot_hooks(emu: Emulator) -> list[dict]:
    return [h for h in emu.state.webhooks.values() if h["createdBy"] == emu.seed.bot_id]


def writes(emu: Emulator) -> list:
    return [c for c in emu.calls() if c.path.startswith("/webhooks") and c.method != "GET"]


async def cli(emu: Emulator, tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """Run `python -m bot …` as an operator would, without the admin token unless given."""
    return await run_cli(emu, tmp_path, *args, **{"WEBEX_ADMIN_TOKEN": "", **env})


async def test_sync_from_nothing_creates_three_with_target_and_secret(
    emu: Emulator, sync: Sync
) -> None:
    report = await sync()

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


async def test_a_second_sync_changes_nothing(emu: Emulator, sync: Sync) -> None:
    await sync()
    before = len(writes(emu))

    report = await sync()

    assert len(writes(emu)) == before
    assert report.count("unchanged") == 3
    assert not report.changed


async def test_a_stale_url_is_updated_in_place(emu: Emulator, sync: Sync) -> None:
    await sync("https://old.example.com/webhooks/webex")
    ids = {h["id"] for h in bot_hooks(emu)}

    report = await sync()

    assert {h["id"] for h in bot_hooks(emu)} == ids
    assert {h["targetUrl"] for h in bot_hooks(emu)} == {TARGET}
    assert report.count("updated") == 3
    assert emu.calls("POST", "/webhooks")[3:] == []
    assert emu.calls("DELETE", "/webhooks/*") == []
    assert all(c.json["secret"] == SECRET for c in emu.calls("PUT", "/webhooks/*"))


async def test_a_changed_secret_is_put(emu: Emulator, sync: Sync) -> None:
    await sync(secret="the-old-secret")

    report = await sync()

    assert report.count("updated") == 3
    assert {h["secret"] for h in bot_hooks(emu)} == {SECRET}


async def test_a_disabled_webhook_is_reactivated(emu: Emulator, sync: Sync) -> None:
    await sync()
    hook = next(h for h in bot_hooks(emu) if h["resource"] == "messages")
    emu.state.set_webhook_status(hook["id"], "inactive")

    report = await sync()

    assert emu.state.webhooks[hook["id"]]["status"] == "active"
    assert report.count("reactivated") == 1
    assert report.count("unchanged") == 2
    [put] = emu.calls("PUT", "/webhooks/*")
    assert put.path == f"/webhooks/{hook['id']}"
    assert put.json["status"] == "active"


async def test_duplicates_of_its_own_are_deleted_down_to_one(
    emu: Emulator, sync: Sync, store: Store
) -> None:
    await sync()
    # as a replica starting at the same moment would have made and recorded it
    extra = emu.state.add_webhook(
        emu.seed.bot_id, "ecn-bot messages/created", TARGET, "messages", "created", secret=SECRET
    )
    await store.own_webhook(extra["id"], "messages", "created", TARGET, NOW)

    report = await sync()

    assert len(bot_hooks(emu)) == 3
    assert len([h for h in bot_hooks(emu) if h["resource"] == "messages"]) == 1
    assert report.count("deleted") == 1
    assert await store.owned_webhook_ids() == {h["id"] for h in bot_hooks(emu)}


async def test_webhooks_it_did_not_create_are_left_alone(
    emu: Emulator, sync: Sync
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

    await sync()
    await sync()

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


def hook_of(emu: Emulator, name: str, target: str, resource: str = "messages",
            **extra: str) -> dict:
    """A webhook made with the bot's token outside this deployment (by hand, or another one)."""
    return emu.state.add_webhook(emu.seed.bot_id, name, target, resource, "created", **extra)


async def test_a_hand_made_webhook_named_like_the_bots_is_left_alone(
    emu: Emulator, sync: Sync, tmp_path: Path
) -> None:
    copy = hook_of(emu, "ecn-bot staging copy", "https://staging.example.com/webhooks/webex",
                   secret="staging")
    snapshot = dict(copy)

    await sync()
    status, _, _ = await cli(emu, tmp_path, "webhooks", "delete",
                             DATABASE_URL=f"sqlite:///{tmp_path / 'deployment.db'}")

    assert status == 0
    assert emu.state.webhooks[copy["id"]] == snapshot
    assert f"/webhooks/{copy['id']}" not in {c.path for c in writes(emu)}
    assert list(emu.state.webhooks) == [copy["id"]]  # its own three were deleted


async def test_two_deployments_sharing_the_bot_keep_to_their_own(
    emu: Emulator, sync: Sync, tmp_path: Path
) -> None:
    staging = await Store.open(f"sqlite:///{tmp_path / 'staging.db'}")
    staging_target = "https://staging.example.com/webhooks/webex"
    try:
        await sync()
        await sync(staging_target, "staging-secret", registry=staging)
        before = len(writes(emu))

        production = await sync()
        again = await sync(staging_target, "staging-secret", registry=staging)
    finally:
        await staging.close()

    assert len(writes(emu)) == before
    assert production.count("unchanged") == 3 and again.count("unchanged") == 3
    targets = sorted(h["targetUrl"] for h in bot_hooks(emu))
    assert targets == [TARGET] * 3 + [staging_target] * 3


async def test_webhooks_made_before_ids_were_recorded_are_adopted_when_they_point_here(
    emu: Emulator, sync: Sync, store: Store
) -> None:
    old = [hook_of(emu, webhook_name(r, e), TARGET, r, secret=SECRET) for r, e in sorted(EVENTS)]
    elsewhere = hook_of(emu, webhook_name("messages", "created"),
                        "https://staging.example.com/webhooks/webex", secret="s")

    report = await sync()

    assert report.count("adopted") == 3
    assert emu.calls("POST", "/webhooks") == []
    assert await store.owned_webhook_ids() == {h["id"] for h in old}
    assert emu.state.webhooks[elsewhere["id"]]["targetUrl"].startswith("https://staging.")


async def test_a_new_public_url_repoints_its_own_webhooks_by_id(
    emu: Emulator, sync: Sync
) -> None:
    await sync()
    ids = {h["id"] for h in bot_hooks(emu)}

    report = await sync("https://moved.example.com/webhooks/webex")
    again = await sync("https://moved.example.com/webhooks/webex")

    assert {h["id"] for h in bot_hooks(emu)} == ids
    assert report.count("updated") == 3 and again.count("unchanged") == 3


async def test_one_deleted_at_webex_is_forgotten_and_made_again(
    emu: Emulator, sync: Sync, store: Store
) -> None:
    await sync()
    gone = next(h["id"] for h in bot_hooks(emu) if h["resource"] == "memberships")
    del emu.state.webhooks[gone]

    report = await sync()

    assert report.count("forgotten") == 1 and report.count("created") == 1
    assert gone not in await store.owned_webhook_ids()
    assert len(await store.owned_webhook_ids()) == 3


async def test_a_webhook_without_the_secret_gets_it(emu: Emulator, sync: Sync) -> None:
    await sync()
    hook = next(h for h in bot_hooks(emu) if h["resource"] == "messages")
    del hook["secret"]

    report = await sync()

    assert report.count("updated") == 1
    [put] = emu.calls("PUT", "/webhooks/*")
    assert put.path == f"/webhooks/{hook['id']}" and put.json["secret"] == SECRET
    assert emu.state.webhooks[hook["id"]]["secret"] == SECRET


async def test_cli_list_says_whose_each_webhook_is(emu: Emulator, tmp_path: Path) -> None:
    hook_of(emu, "ecn-bot staging copy", "https://staging.example.com/webhooks/webex")
    await cli(emu, tmp_path, "webhooks", "sync", "--url", TARGET)

    status, out, _ = await cli(emu, tmp_path, "webhooks", "list")

    assert status == 0
    lines = out.strip().splitlines()
    assert sum("(this deployment's)" in line and TARGET in line for line in lines) == 3
    [other] = [line for line in lines if "staging copy" in line]
    assert "not this deployment's" in other


async def test_serve_at_start_leaves_another_deployments_webhooks_alone(
    emu: Emulator, tmp_path: Path
) -> None:
    staging = hook_of(emu, webhook_name("messages", "created"),
                      "https://staging.example.com/webhooks/webex", secret="staging")
    snapshot = dict(staging)
    port = free_port()

    bot = await start_serve(emu, tmp_path, port=port, PUBLIC_URL=f"http://127.0.0.1:{port}",
                            DATABASE_URL=f"sqlite:///{tmp_path / 'production.db'}")
    await bot.stop()

    assert emu.state.webhooks[staging["id"]] == snapshot
    ours = [h for h in bot_hooks(emu) if h["id"] != staging["id"]]
    assert sorted(h["targetUrl"] for h in ours) == [f"http://127.0.0.1:{port}/webhooks/webex"] * 3
