"""`python -m bot check` as a subprocess against an emulator served by the test's loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.emulator import Emulator
from bot.ops.webhooks import sync_webhooks
from bot.sealing import generate_key
from bot.store import LATEST_VERSION, Store
from bot.webex.gateway import standalone_gateway
from bot.webex.retry import RetryPolicy
from tests.e2e.harness import SECRET
from tests.ops.test_webhooks import cli

PUBLIC_URL = "https://bot.example.com"
TARGET = f"{PUBLIC_URL}/webhooks/webex"
SETTING = "/telephony/config/emergencyCallNotification"
KEY = generate_key()


@pytest.fixture
async def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    store = await Store.open(url)
    await store.close()
    return url


@pytest.fixture
async def synced(emu: Emulator) -> None:
    async with standalone_gateway(emu.base_url, emu.seed.bot_token, None,
                                  policy=RetryPolicy()) as webex:
        await sync_webhooks(webex, TARGET, SECRET)


async def check(emu: Emulator, tmp_path: Path, **env: str) -> tuple[int, dict[str, str], str]:
    """Run check; return its status, {label: line (with its hint)} and all it printed."""
    values = {"WEBEX_ADMIN_TOKEN": emu.seed.admin_token, "PUBLIC_URL": PUBLIC_URL}
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
        if line[:1] in ("✓", "✗"):
            last = line[2:].split("  ")[0].strip()
            lines[last] = line
        elif line.strip().startswith("→") and last:
            lines[last] += "\n" + line
    return status, lines, out


def failing(lines: dict[str, str]) -> set[str]:
    return {label for label, line in lines.items() if line.startswith("✗")}


async def test_a_healthy_setup_is_all_green(
    emu: Emulator, tmp_path: Path, db_url: str, synced: None
) -> None:
    emu.set_setting(emergencyCallNotificationEnabled=True)

    status, lines, out = await check(emu, tmp_path, DATABASE_URL=db_url)

    assert status == 0, out
    assert failing(lines) == set()
    assert "Kari Bot" in lines["bot token"]
    assert "Kari Admin Service App" in lines["admin token"]
    assert emu.seed.org_name in lines["organization"]
    assert emu.seed.org_id in lines["organization"]
    assert "notifications on" in lines["setting readable"]
    assert "security@acme.example" in lines["setting readable"]
    assert "Full Administrator" in lines["roles readable"]
    assert f"v{LATEST_VERSION}" in lines["database"]
    for name in ("messages/created", "attachmentActions/created", "memberships/created"):
        assert TARGET in lines[f"webhook {name}"]


async def test_a_broken_setup_names_each_problem_with_a_hint(
    emu: Emulator, tmp_path: Path, synced: None
) -> None:
    hooks = list(emu.state.webhooks.values())
    disabled = next(h for h in hooks if h["resource"] == "messages")
    emu.state.set_webhook_status(disabled["id"], "inactive")
    missing = next(h for h in hooks if h["resource"] == "memberships")
    del emu.state.webhooks[missing["id"]]
    emu.faults.add(method="GET", path=SETTING, status=403, times=None)

    status, lines, out = await check(
        emu, tmp_path, DATABASE_URL="postgresql://postgres@127.0.0.1:1/none"
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
    emu: Emulator, tmp_path: Path, db_url: str, synced: None
) -> None:
    emu.expire_token(emu.seed.admin_token)

    status, lines, out = await check(emu, tmp_path, DATABASE_URL=db_url)

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
    emu: Emulator, tmp_path: Path, db_url: str, synced: None
) -> None:
    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=db_url, PUBLIC_URL="")

    assert status == 1
    assert failing(lines) == {"webhooks"}
    assert "PUBLIC_URL" in lines["webhooks"]
    assert TARGET in lines["webhooks"]


async def test_an_unmigrated_database_is_red(emu: Emulator, tmp_path: Path, synced: None) -> None:
    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")

    assert status == 1
    assert failing(lines) == {"database"}
    assert "v0" in lines["database"]


async def test_the_service_app_refresh_is_checked(
    emu: Emulator, tmp_path: Path, db_url: str, synced: None
) -> None:
    oauth = {
        "WEBEX_ADMIN_TOKEN": "",
        "WEBEX_CLIENT_ID": emu.seed.client_id,
        "WEBEX_CLIENT_SECRET": emu.seed.client_secret,
        "WEBEX_ADMIN_REFRESH_TOKEN": emu.seed.admin_refresh_token,
        "TOKEN_ENCRYPTION_KEY": KEY,
    }

    status, lines, out = await check(emu, tmp_path, DATABASE_URL=db_url, **oauth)
    assert status == 0, out
    assert "refreshed" in lines["admin token"]

    emu.revoke_refresh_token(emu.seed.admin_refresh_token)
    for token, info in list(emu.state.tokens.items()):
        if info.expires_at is not None:  # the access tokens the refresh issued
            emu.expire_token(token)
    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=db_url, **oauth)
    assert status == 1
    assert failing(lines) == {"admin token"}
    assert "authorizes the Service App again" in lines["admin token"]


async def test_the_service_app_refresh_needs_the_encryption_key(
    emu: Emulator, tmp_path: Path, db_url: str, synced: None
) -> None:
    status, lines, _ = await check(
        emu, tmp_path, DATABASE_URL=db_url, WEBEX_CLIENT_ID=emu.seed.client_id,
        WEBEX_CLIENT_SECRET=emu.seed.client_secret,
        WEBEX_ADMIN_REFRESH_TOKEN=emu.seed.admin_refresh_token)
    assert status == 1
    assert failing(lines) == {"TOKEN_ENCRYPTION_KEY"}
    assert "keygen" in lines["TOKEN_ENCRYPTION_KEY"]


async def test_personal_sign_in_settings_are_checked_at_webex(
    emu: Emulator, tmp_path: Path, db_url: str, synced: None
) -> None:
    sign_in = {"CHANGES_WITH": "admin", "TOKEN_ENCRYPTION_KEY": KEY,
               "WEBEX_INTEGRATION_CLIENT_ID": emu.seed.integration_client_id,
               "WEBEX_INTEGRATION_CLIENT_SECRET": emu.seed.integration_client_secret}
    status, lines, out = await check(emu, tmp_path, DATABASE_URL=db_url, **sign_in)
    assert status == 0, out
    assert "accepted by Webex" in lines["Webex Integration"]
    assert f"{PUBLIC_URL}/oauth/callback" in lines["sign-in redirect URI"]
    assert "admin" in lines["CHANGES_WITH"]

    wrong = {**sign_in, "WEBEX_INTEGRATION_CLIENT_SECRET": "not-the-secret"}
    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=db_url, **wrong)
    assert status == 1 and failing(lines) == {"Webex Integration"}
    assert "invalid_client" in lines["Webex Integration"]

    status, lines, _ = await check(emu, tmp_path, DATABASE_URL=db_url, CHANGES_WITH="admin")
    assert failing(lines) == {"WEBEX_INTEGRATION_CLIENT_ID", "WEBEX_INTEGRATION_CLIENT_SECRET",
                              "TOKEN_ENCRYPTION_KEY"}
