"""The sign-in settings at the command line: keygen, and one-line errors naming what is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

BASE = {"PATH": "/usr/bin:/bin", "WEBEX_BOT_TOKEN": "bot-token-123456",
        "WEBEX_ADMIN_TOKEN": "admin-token-123456", "WEBEX_WEBHOOK_SECRET": "secret-123456"}


def _bot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], env={**BASE, **env},
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=60)


def test_keygen_prints_a_fernet_key_each_time_new(tmp_path: Path) -> None:
    first, second = _bot(tmp_path, "keygen"), _bot(tmp_path, "keygen")
    assert first.returncode == 0 and first.stdout != second.stdout
    Fernet(first.stdout.strip().encode())  # a usable key


@pytest.mark.parametrize(("env", "expected"), [
    ({"CHANGES_WITH": "admin"},
     "error: WEBEX_INTEGRATION_CLIENT_ID, WEBEX_INTEGRATION_CLIENT_SECRET, TOKEN_ENCRYPTION_KEY, "
     "PUBLIC_URL are not set (required with CHANGES_WITH=admin)"),
    ({"CHANGES_WITH": "admin", "WEBEX_INTEGRATION_CLIENT_ID": "C1",
      "WEBEX_INTEGRATION_CLIENT_SECRET": "s3cret-value", "PUBLIC_URL": "https://bot.example"},
     "error: TOKEN_ENCRYPTION_KEY is not set (required with CHANGES_WITH=admin)"),
    ({"TOKEN_ENCRYPTION_KEY": "short-and-wrong"},
     "error: TOKEN_ENCRYPTION_KEY: key 1 of 1 is not a Fernet key (32 url-safe base64 bytes; "
     "`python -m bot keygen` prints one)"),
    ({"CHANGES_WITH": "admins"}, "error: CHANGES_WITH: Input should be 'service-app' or 'admin'"),
    ({"WEBEX_ADMIN_TOKEN": "", "WEBEX_CLIENT_ID": "C1", "WEBEX_CLIENT_SECRET": "s3cret-value",
      "WEBEX_ADMIN_REFRESH_TOKEN": "refresh-123456"},
     "error: TOKEN_ENCRYPTION_KEY is not set (required with WEBEX_ADMIN_REFRESH_TOKEN: rotated "
     "tokens are stored encrypted)"),
])  # fmt: skip
def test_serve_refuses_missing_or_invalid_sign_in_settings_in_one_line(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    done = _bot(tmp_path, "serve", **env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [expected]
    for secret in ("s3cret-value", "short-and-wrong", "refresh-123456", "admin-token-123456"):
        assert secret not in done.stderr + done.stdout
