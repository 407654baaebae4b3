"""Configuration and database mistakes: one line naming the setting, exit status 2, no traceback,
and the read-only commands never create (or migrate) a database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.__main__ import main

BASE = {"WEBEX_BOT_TOKEN": "bot-token-value", "WEBEX_ADMIN_TOKEN": "admin-token-value",
        "WEBEX_WEBHOOK_SECRET": "secret-value", "WEBEX_API_URL": "http://127.0.0.1:9/v1"}


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        *args: str, **env: str) -> tuple[int, str]:
    """`python -m bot ARGS` in this process, in an empty directory; (status, stderr)."""
    monkeypatch.chdir(tmp_path)
    for name, value in {**BASE, **env}.items():
        monkeypatch.setenv(name, value)
    try:
        status = main(list(args))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    return status, capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WEBEX_CLIENT_ID": "c", "WEBEX_CLIENT_SECRET": "s"}, "WEBEX_ADMIN_REFRESH_TOKEN"),
        ({"WEBEX_CLIENT_ID": "c", "WEBEX_ADMIN_REFRESH_TOKEN": "r"}, "WEBEX_CLIENT_SECRET"),
        ({"WEBEX_ADMIN_REFRESH_TOKEN": "r"}, "WEBEX_CLIENT_ID and WEBEX_CLIENT_SECRET"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"PUBLIC_URL": "bot.example.com"}, "PUBLIC_URL"),
        ({"WEBEX_API_URL": "webexapis.com/v1"}, "WEBEX_API_URL"),
        ({"WEBEX_MAX_RETRIES": "11"}, "WEBEX_MAX_RETRIES"),
        ({"WORKER_NICE": "20"}, "WORKER_NICE"),
        ({"MAX_CONCURRENT_EVENTS": "0"}, "MAX_CONCURRENT_EVENTS"),
        ({"PORT": "http"}, "PORT"),
    ],
)
@pytest.mark.parametrize("command", [("serve",), ("check",), ("audit", "export")])
def test_a_bad_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    env: dict[str, str], named: str, command: tuple[str, ...],
) -> None:
    status, err = run(monkeypatch, capsys, tmp_path, *command, **env)

    assert status == 2
    assert err.startswith(f"error: {named}") or f" {named} " in err, err
    assert err.strip().count("\n") == 0, err
    assert list(tmp_path.iterdir()) == []
    for value in ("secret-value", "bot-token-value", "admin-token-value"):
        assert value not in err


def test_a_log_level_in_lower_case_is_taken(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, err = run(monkeypatch, capsys, tmp_path, "audit", "export", LOG_LEVEL="warning",
                      DATABASE_URL=f"sqlite:///{tmp_path / 'none.db'}")

    assert status == 2 and "LOG_LEVEL" not in err


@pytest.mark.parametrize(
    "command", [("audit", "export"), ("webhooks", "list"), ("webhooks", "delete"), ("coverage",)])
def test_a_mistyped_database_is_an_error_and_is_not_created(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    command: tuple[str, ...],
) -> None:
    status, err = run(monkeypatch, capsys, tmp_path, *command,
                      DATABASE_URL=f"sqlite:///{tmp_path / 'ecn-bot-typo.db'}")

    assert status == 2
    assert err.strip().count("\n") == 0 and "ecn-bot-typo.db" in err, err
    assert list(tmp_path.iterdir()) == []


def test_an_empty_database_is_not_migrated_by_audit_export(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()

    status, err = run(monkeypatch, capsys, tmp_path, "audit", "export",
                      DATABASE_URL=f"sqlite:///{path}")

    assert status == 2 and "empty" in err and "serve" in err
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_audit_export_with_a_bad_date_is_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, err = run(monkeypatch, capsys, tmp_path, "audit", "export", "--since", "yesterday")

    assert status == 2 and err.startswith("error: --since") and err.count("\n") == 1
