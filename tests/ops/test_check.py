"""`python -m bot check` as a subprocess against an emulator served by the test's loop."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.emulator import Emulator
from bot.emulator.seed import ROLE_NAMES
from bot.sealing import generate_key
from bot.store import LATEST_VERSION, Store
from bot.webex.gateway import standalone_gateway
from bot.webex.retry import RetryPolicy
from bot.webex.webhooks import sync_webhooks
from tests.e2e.harness import SECRET, RunningBot, running_bot
from tests.ops.test_webhooks import cli
from tests.procs import free_port

SETTING = "/telephony/config/emergencyCallNotification"
KEY = generate_key()


@pytest.fixture
async def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    store = await Store.open(url)
    await store.close()
    return url


@pytest.fixture
async def live(emu: Emulator, tmp_path: Path, db_url: str) -> AsyncIterator[RunningBot]:
    """The bot serving PUBLIC_URL (in this process, on the same database as `check`)."""
    async with running_bot(emu, tmp_path, webhooks=False, DATABASE_URL=db_url) as bot:
        yield bot


@pytest.fixture
async def synced(emu: Emulator, db_url: str, live: RunningBot) -> str:
    """This deployment's webhooks made at PUBLIC_URL (recorded in its database); PUBLIC_URL."""
    store = await Store.open(db_url)
    try:
        async with standalone_gateway(emu.base_url, emu.seed.bot_token, None,
                                      policy=RetryPolicy()) as webex:
            await sync_webhooks(webex, store, live.webhook_url, SECRET)
    finally:
        await store.close()
    return live.url


async def check(emu: Emulator, tmp_path: Path, **env: str) -> tuple[int, dict[str, str], str]:
    """Run check; return its status, {label: line (with its hint)} and all it printed."""
    values = {"WEBEX_ADMIN_TOKEN": emu.seed.admin_token}
    values.update(env)
    status, out, err = await cli(emu, tmp_path, "check", **values)
    secrets = [
        emu.seed.bot_token,
        emu.seed.admin_token,
        SECRET,
        emu.seed.client_secret,
        emu.seed.admin_refresh_token,
        emu.seed.integration_client_secret,
        KEY,
    ]
    assert not [s for s in secrets if s in out + err]
    assert "Traceback" not in out + err
    lines: dict[str, str] = {}
    last = ""
    for line in out.splitlines():
        if line[:1] in ("✓", "✗", "?"):
            last = line[2:].split("  ")[0].strip()
            assert last not in lines, f"{last} twice"
            lines[last] = line
        elif line.strip().startswith("→") and last:
            lines[last] += "\n" + line
    return status, lines, out


def failing(lines: dict[str, str]) -> set[str]:
    return {label for label, line in lines.items() if line.startswith("✗")}


def unsure(lines: dict[str, str]) -> set[str]:
    return {label for label, line in lines.items() if line.startswith("?")}


async def test_the_roles_line_counts_the_roles_it_names(
    emu: Emulator, tmp_path: Path, db_url: str
) -> None:
    _, lines, _ = await check(emu, tmp_path, DATABASE_URL=db_url)

    line = lines["roles readable"]
    named = line.split("(", 1)[1].split(")", 1)[0].split(", ")
    assert named == sorted(n for n in ROLE_NAMES.values() if "Administrator" in n)
    assert f"{len(ROLE_NAMES)} roles, {len(named)} of them administrator roles (" in line


async def test_a_healthy_setup_is_all_green(
    emu: Emulator, tmp_path: Path, db_url: str, synced: str
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)
    target = f"{synced}/webhooks/webex"
    before = [c for c in emu.calls() if c.method != "GET"]

    status, lines, out = await check(emu, tmp_path, DATABASE_URL=db_url, PUBLIC_URL=synced)

    assert status == 0, out
    assert failing(lines) == set()
    assert [c for c in emu.calls() if c.method != "GET"] == before  # nothing changed in Webex
    # The seeded admin identity is a Service App: Webex does not show its scopes.
    assert unsure(lines) == {"setting writable"}
    assert "telephony_config_write" in lines["setting writable"]
    assert "→" in lines["setting writable"]
    assert "answers a signed test event" in lines["public URL"]
    assert "people's roles are shown" in lines["roles readable"]
    assert "Kari Bot" in lines["bot token"]
    assert "Kari Admin Service App" in lines["admin token"]
    assert emu.seed.org_name in lines["organization"]
    assert emu.seed.org_id in lines["organization"]
    assert "notifications on" in lines["setting readable"]
    assert "security@acme.example" in lines["setting readable"]
    assert "Full Administrator" in lines["roles readable"]
    assert f"v{LATEST_VERSION}" in lines["database"]
    for name in ("messages/created", "attachmentActions/created", "memberships/created"):
        assert target in lines[f"webhook {name}"]
        assert "not yet recorded" not in lines[f"webhook {name}"]


async def test_a_broken_setup_names_each_problem_with_a_hint(
    emu: Emulator, tmp_path: Path, synced: str
) -> None:
    hooks = list(emu.state.webhooks.values())
    disabled = next(h for h in hooks if h["resource"] == "messages")
    emu.state.set_webhook_status(disabled["id"], "inactive")
    missing = next(h for h in hooks if h["resource"] == "memberships")
    del emu.state.webhooks[missing["id"]]
    emu.faults.add(method="GET", path=SETTING, status=403, times=None)

    status, lines, out = await check(
        emu, tmp_path, DATABASE_URL="postgresql://postgres@127.0.0.1:1/none", PUBLIC_URL=synced
    )

    assert status == 1
    assert failing(lines) == {
        "database",
        "setting readable",
        "webhook messages/created",
        "webhook memberships/created",
    }, out
    assert "unreachable" in lines["database"]
    assert "inactive" in lines["webhook messages/created"]
    assert "missing" in lines["webhook memberships/created"]
    assert "403" in lines["setting readable"]
    assert "telephony_config_read" in lines["setting readable"]
    for label in failing(lines):
        assert "→" in lines[label], f"{label} has no hint"


async def test_a_rejected_admin_token_is_a_red_line(
    emu: Emulator, tmp_path: Path, db_url: str, synced: str
) -> None:
    emu.expire_token(emu.seed.admin_token)

    status, lines, out = await check(emu, tmp_path, DATABASE_URL=db_url, PUBLIC_URL=synced)

    assert status == 1
    assert failing(lines) == {"admin token"}, out
    assert "WEBEX_ADMIN_TOKEN" in lines["admin token"]


async def test_missing_settings_are_red_lines_not_a_traceback(
    emu: Emulator, tmp_path: Path, db_url: str
) -> None:
    status, lines, _ = await check(
        emu,
        tmp_path,
        DATABASE_URL=db_url,
        WEBEX_BOT_TOKEN="",
        WEBEX_ADMIN_TOKEN="",
        WEBEX_WEBHOOK_SECRET="",
        PUBLIC_URL="",
    )

    assert status == 1
    assert {"WEBEX_BOT_TOKEN", "WEBEX_ADMIN_TOKEN", "WEBEX_WEBHOOK_SECRET"} <= failing(lines)
    assert "database" not in failing(lines)


async def test_no_public_url_lists_what_exists_and_fails(
    emu: Emulator, tmp_path: Path, db_url: str, synced: str
) -> None:
    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=db_url, PUBLIC_URL="")

    assert status == 1
    assert failing(lines) == {"webhooks"}
    assert "PUBLIC_URL" in lines["webhooks"]
    assert f"{synced}/webhooks/webex" in lines["webhooks"]


async def test_an_empty_database_is_red_and_stays_empty(
    emu: Emulator, tmp_path: Path, synced: str
) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()

    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=f"sqlite:///{empty}",
                                   PUBLIC_URL=synced)

    assert status == 1
    assert failing(lines) == {"database"}
    assert "empty" in lines["database"] and "serve" in lines["database"]
    with sqlite3.connect(empty) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


async def test_a_mistyped_database_is_red_and_not_created(
    emu: Emulator, tmp_path: Path, synced: str
) -> None:
    typo = tmp_path / "ecn-bto.db"

    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=f"sqlite:///{typo}",
                                   PUBLIC_URL=synced)

    assert status == 1
    assert failing(lines) == {"database"}
    assert f"no database at {typo}" in lines["database"]
    assert not typo.exists()


async def test_an_older_schema_is_red_and_not_migrated(
    emu: Emulator, tmp_path: Path, synced: str
) -> None:
    old = f"sqlite:///{tmp_path / 'old.db'}"
    store = await Store.open(old, migrate=False)
    await store.migrate(target=LATEST_VERSION - 1)
    await store.close()

    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=old, PUBLIC_URL=synced)

    assert status == 1 and failing(lines) == {"database"}
    assert f"v{LATEST_VERSION - 1}" in lines["database"]
    store = await Store.open(old, migrate=False)
    assert await store.schema_version() == LATEST_VERSION - 1
    await store.close()


@pytest.mark.parametrize(
    ("person", "status", "mark", "role"),
    [("rita", 1, "✗", "Read-only Administrator"), ("alice", 0, "✓", "Full Administrator")],
)
async def test_the_write_permission_is_read_from_the_admin_identitys_roles(
    emu: Emulator, tmp_path: Path, db_url: str, synced: str, person: str, status: int,
    mark: str, role: str,
) -> None:
    token = emu.seed.people[person].token

    got, lines, out = await check(emu, tmp_path, DATABASE_URL=db_url, PUBLIC_URL=synced,
                                  WEBEX_ADMIN_TOKEN=token)

    assert got == status, out
    assert failing(lines) == ({"setting writable"} if status else set()), out
    line = lines["setting writable"]
    assert line.startswith(mark) and role in line
    assert "telephony_config_write" in line  # Webex does not show the scope: the line says so
    assert emu.calls("PUT", SETTING) == []


async def test_a_public_url_nobody_answers_is_red(
    emu: Emulator, tmp_path: Path, db_url: str, synced: str
) -> None:
    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=db_url,
                                   PUBLIC_URL=f"http://127.0.0.1:{free_port()}")

    assert status == 1
    assert "does not answer" in lines["public URL"]
    assert "→" in lines["public URL"]


async def test_a_public_url_with_another_secret_is_red(
    emu: Emulator, tmp_path: Path, db_url: str, synced: str
) -> None:
    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=db_url, PUBLIC_URL=synced,
                                   WEBEX_WEBHOOK_SECRET="not-the-secret-the-bot-has")

    assert status == 1
    assert "401" in lines["public URL"]


async def test_a_webhook_without_the_secret_is_fixed_by_the_command_its_hint_names(
    emu: Emulator, tmp_path: Path, db_url: str, synced: str
) -> None:
    hook = next(h for h in emu.state.webhooks.values() if h["resource"] == "messages")
    del hook["secret"]
    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=db_url, PUBLIC_URL=synced)
    assert status == 1
    assert "has no secret" in lines["webhook messages/created"]
    hint = lines["webhook messages/created"].split("→", 1)[1]
    command = hint.split("`")[1].split()  # python -m bot webhooks sync
    assert command[:3] == ["python", "-m", "bot"]

    await cli(emu, tmp_path, *command[3:], DATABASE_URL=db_url, PUBLIC_URL=synced)
    status, lines, out = await check(emu, tmp_path, DATABASE_URL=db_url, PUBLIC_URL=synced)

    assert status == 0, out
    assert emu.state.webhooks[hook["id"]]["secret"] == SECRET


async def test_the_refresh_settings_with_an_empty_database_are_lines_not_a_traceback(
    emu: Emulator, tmp_path: Path, synced: str
) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()

    status, lines, out = await check(
        emu, tmp_path, DATABASE_URL=f"sqlite:///{empty}", PUBLIC_URL=synced,
        WEBEX_ADMIN_TOKEN="", WEBEX_CLIENT_ID=emu.seed.client_id,
        WEBEX_CLIENT_SECRET=emu.seed.client_secret,
        WEBEX_ADMIN_REFRESH_TOKEN=emu.seed.admin_refresh_token, TOKEN_ENCRYPTION_KEY=KEY,
    )

    assert status == 1
    assert failing(lines) == {"database"}, out
    assert "refreshed" in lines["admin token"]


async def test_the_service_app_refresh_is_checked(
    emu: Emulator, tmp_path: Path, db_url: str, synced: str
) -> None:
    oauth = {
        "WEBEX_ADMIN_TOKEN": "",
        "WEBEX_CLIENT_ID": emu.seed.client_id,
        "WEBEX_CLIENT_SECRET": emu.seed.client_secret,
        "WEBEX_ADMIN_REFRESH_TOKEN": emu.seed.admin_refresh_token,
        "TOKEN_ENCRYPTION_KEY": KEY,
    }

    status, lines, out = await check(emu, tmp_path, DATABASE_URL=db_url, PUBLIC_URL=synced,
                                     **oauth)
    assert status == 0, out
    assert "refreshed" in lines["admin token"]

    emu.revoke_refresh_token(emu.seed.admin_refresh_token)
    for token, info in list(emu.state.tokens.items()):
        if info.expires_at is not None:  # the access tokens the refresh issued
            emu.expire_token(token)
    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=db_url, PUBLIC_URL=synced,
                                   **oauth)
    assert status == 1
    assert failing(lines) == {"admin token"}
    assert "authorizes the Service App again" in lines["admin token"]


async def test_the_service_app_refresh_needs_the_encryption_key(
    emu: Emulator, tmp_path: Path, db_url: str, synced: str
) -> None:
    status, lines, _ = await check(
        emu, tmp_path, DATABASE_URL=db_url, PUBLIC_URL=synced, WEBEX_ADMIN_TOKEN="",
        WEBEX_CLIENT_ID=emu.seed.client_id, WEBEX_CLIENT_SECRET=emu.seed.client_secret,
        WEBEX_ADMIN_REFRESH_TOKEN=emu.seed.admin_refresh_token)
    assert status == 1
    assert failing(lines) == {"TOKEN_ENCRYPTION_KEY"}
    assert "keygen" in lines["TOKEN_ENCRYPTION_KEY"]


async def test_personal_sign_in_settings_are_checked_at_webex(
    emu: Emulator, tmp_path: Path, db_url: str, synced: str
) -> None:
    sign_in = {"CHANGES_WITH": "admin", "TOKEN_ENCRYPTION_KEY": KEY,
               "WEBEX_INTEGRATION_CLIENT_ID": emu.seed.integration_client_id,
               "WEBEX_INTEGRATION_CLIENT_SECRET": emu.seed.integration_client_secret}
    status, lines, out = await check(emu, tmp_path, DATABASE_URL=db_url, PUBLIC_URL=synced,
                                     **sign_in)
    assert status == 0, out
    assert "accepted by Webex" in lines["Webex Integration"]
    assert f"{synced}/oauth/callback" in lines["sign-in redirect URI"]
    assert "admin" in lines["CHANGES_WITH"]

    wrong = {**sign_in, "WEBEX_INTEGRATION_CLIENT_SECRET": "not-the-secret"}
    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=db_url, PUBLIC_URL=synced, **wrong)
    assert status == 1 and failing(lines) == {"Webex Integration"}
    assert "invalid_client" in lines["Webex Integration"]

    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=db_url, PUBLIC_URL=synced,
                                   CHANGES_WITH="admin")
    assert failing(lines) == {"WEBEX_INTEGRATION_CLIENT_ID", "WEBEX_INTEGRATION_CLIENT_SECRET",
                              "TOKEN_ENCRYPTION_KEY"}
