"""A database the bot cannot use stops `serve`, `check` and `audit export` with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.store.url import database_problem

ENV = {"PATH": "/usr/bin:/bin", "WEBEX_BOT_TOKEN": "bot-token-123456",
       "WEBEX_ADMIN_TOKEN": "admin-token-123456", "WEBEX_WEBHOOK_SECRET": "secret-123456",
       "WEBEX_API_URL": "http://127.0.0.1:9/v1"}


def run(tmp_path: Path, database_url: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *command],
                          env={**ENV, "DATABASE_URL": database_url,
                               "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [("serve",), ("check",), ("audit", "export")])
@pytest.mark.parametrize(("url", "says"), [
    ("mysql://u:pw@db.example/bot", "unsupported database URL scheme 'mysql'"),
    ("sqlite:///{tmp}/no/such/dir/bot.db", "directory {tmp}/no/such/dir does not exist"),
])
def test_an_unusable_database_url_is_one_line_and_exit_2(
    tmp_path: Path, command: tuple[str, ...], url: str, says: str
) -> None:
    done = run(tmp_path, url.format(tmp=tmp_path), *command)

    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: DATABASE_URL: ")
    assert says.format(tmp=tmp_path) in line
    assert "u:pw" not in line  # the password is never shown
    assert not (tmp_path / "no").exists()  # nothing was created


@pytest.mark.parametrize(("url", "ok"), [
    ("sqlite:///bot.db", True),
    ("sqlite://", True),
    ("sqlite:///:memory:", True),
    ("postgresql://u@h/db", True),
    ("sqlite:////nonexistent-dir-for-test/bot.db", False),
    ("oracle://u@h/db", False),
])
def test_the_database_url_is_checked_before_anything_opens_it(url: str, ok: bool) -> None:
    assert (database_problem(url) is None) is ok
