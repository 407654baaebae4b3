"""Pure pieces as tables: signatures, the permission rule, command parsing, retries, limits."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html as html_lib
import string
import subprocess
import sys

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.conversation.dispatch import command_text
from bot.conversation.menu import COMMANDS
from bot.errors import TransientWebexError
from bot.models import CARD_SUBMISSION, NotificationSetting, Person
from bot.security import Permission, access_for, verify_signature
from bot.server.event_run import backoff
from bot.settings import Settings
from bot.webex.cache import TTLCache
from bot.webex.retry import RetryPolicy

SECRET = b"s3cret"
BODY = b'{"resource":"messages"}'
GOOD = hmac.new(SECRET, BODY, hashlib.sha1).hexdigest()
BOT = "BOT_ID"


@pytest.mark.parametrize(("secret", "body", "signature", "ok"), [
    (SECRET, BODY, GOOD, True),
    (SECRET, BODY, f" {GOOD} ", True),
    (SECRET, BODY, GOOD.upper(), False),
    (SECRET, BODY + b" ", GOOD, False),
    (b"other", BODY, GOOD, False),
    (SECRET, BODY, None, False),
    (SECRET, BODY, "", False),
    (SECRET, BODY, "é" * 40, False),
    (b"", BODY, hmac.new(b"", BODY, hashlib.sha1).hexdigest(), False),
])
def test_signature_is_the_lowercase_hex_hmac_sha1_of_the_raw_body(
    secret: bytes, body: bytes, signature: str | None, ok: bool
) -> None:
    assert verify_signature(secret, body, signature) is ok


ORG, OTHER = "ORG", "OTHER_ORG"


@pytest.mark.parametrize(("org", "roles", "level"), [
    (ORG, ["Full Administrator"], Permission.CHANGE),
    (ORG, ["User Administrator"], Permission.CHANGE),
    (ORG, ["Read-only Administrator"], Permission.READ),
    (ORG, ["Read-only Administrator", "User Administrator"], Permission.CHANGE),
    (ORG, ["Support Administrator", "Device Administrator"], Permission.ANYONE),
    (ORG, [], Permission.ANYONE),
    (OTHER, ["Full Administrator"], Permission.ANYONE),
    (None, ["Full Administrator"], Permission.ANYONE),
])
def test_the_permission_rule_is_the_one_webex_applies(
    org: str | None, roles: list[str], level: Permission
) -> None:
    access = access_for(Person(id="p", orgId=org), roles, ORG)
    assert access.level == level
    assert access.allows(Permission.ANYONE)


def test_a_refusal_says_why() -> None:
    outsider = access_for(Person(id="p", orgId=OTHER), ["Full Administrator"], ORG)
    assert "another organization" in outsider.refusal(Permission.CHANGE, "Acme")
    reader = access_for(Person(id="p", orgId=ORG), ["Read-only Administrator"], ORG)
    assert "Read-only Administrator" in reader.refusal(Permission.CHANGE, "Acme")


MENTION = (f'<spark-mention data-object-type="person" data-object-id="{BOT}">'
           "Kari Bot</spark-mention>")


@pytest.mark.parametrize(("text", "html", "room", "expected"), [
    ("status", None, "direct", "status"),
    ("  /STATUS  ", None, "direct", "STATUS"),
    ("Kari Bot status", f"<p>{MENTION} status</p>", "group", "status"),
    ("Kari Bot   enable  a@b.co", f"<p>{MENTION}   enable  a@b.co</p>", "group", "enable a@b.co"),
    ("Kari Bot /help", f"<p>{MENTION} /help</p>", "group", "help"),
    ("Kari Bot status", None, "group", "status"),
    ("Kari status", None, "group", "status"),
    ("Kari Bot set email Bob & co", f"<p>{MENTION} set email Bob &amp; co</p>", "group",
     "set email Bob & co"),
    ("Kari Bot whoami Alice",
     f'<p>{MENTION} whoami <spark-mention data-object-id="A">Alice</spark-mention></p>',
     "group", "whoami Alice"),
])
def test_the_command_is_the_text_without_the_bots_mention(
    text: str, html: str | None, room: str, expected: str
) -> None:
    assert command_text(text=text, html=html, room_type=room, bot_id=BOT,
                        bot_name="Kari Bot") == expected


@given(st.text())
def test_the_bots_mention_is_never_part_of_the_command(typed: str) -> None:
    """Whatever follows the mention in a group space is the command, spaced as typed words."""
    html = (f'<p><spark-mention data-object-type="person" data-object-id="{BOT}">Kari Bot'
            f"</spark-mention> {html_lib.escape(typed)}</p>")
    words = " ".join(typed.split())
    expected = words[1:].lstrip() if words.startswith("/") else words
    got = command_text(text=f"Kari Bot {typed}", html=html, room_type="group", bot_id=BOT,
                       bot_name="Kari Bot")
    assert got == expected


WORD = st.text(alphabet=string.ascii_letters + string.digits + "@.-_", min_size=1, max_size=12)


@given(st.sampled_from(sorted({w for c in COMMANDS.commands.values()
                               for w in (c.name, *c.aliases)})), st.lists(WORD, max_size=4))
def test_every_command_word_finds_its_command_and_keeps_the_rest(
    word: str, args: list[str]
) -> None:
    two = " ".join([*word.split(), *args][:2]).lower()
    assume(len(word.split()) == 2 or two not in {w for c in COMMANDS.commands.values()
                                                  for w in (c.name, *c.aliases)})
    command, rest = COMMANDS.find(" ".join([word.upper(), *args]))
    assert command is not None and word in (command.name, *command.aliases)
    assert rest == " ".join(args)


@pytest.mark.parametrize(("text", "name", "args"), [
    ("status", "status", ""),
    ("STATUS", "status", ""),
    ("enable ops@example.com", "enable", "ops@example.com"),
    ("set email  x@y.z", "set email", "x@y.z"),
    ("SET ALL-LOCATIONS on", "set all-locations", "on"),
    ("settings", "edit", ""),
    ("history 5", "history", "5"),
    ("set", None, "set"),
    ("make me a sandwich", None, "make me a sandwich"),
])
def test_one_table_finds_every_command(text: str, name: str | None, args: str) -> None:
    command, rest = COMMANDS.find(text)
    assert (command.name if command else None, rest) == (name, args)


def test_help_lists_only_what_a_level_may_use() -> None:
    anyone = {c.name for c in COMMANDS.available_to(Permission.ANYONE)}
    reader = {c.name for c in COMMANDS.available_to(Permission.READ)}
    changer = {c.name for c in COMMANDS.available_to(Permission.CHANGE)}
    assert anyone == {"help", "whoami", "sign in", "sign out"}  # sign-in's only when in use
    assert reader - anyone == {"status", "history", "coverage"}
    assert {"enable", "disable", "set email", "set all-locations", "edit", "watch"} == (
        changer - reader)


@pytest.mark.parametrize("stored", [{}, {"emailAddress": ""}, {"emailAddress": None}])
def test_no_address_is_one_value_however_webex_says_it(stored: dict[str, object]) -> None:
    read = NotificationSetting.model_validate(
        {"emergencyCallNotificationEnabled": False, **stored})
    assert read == NotificationSetting.model_validate(read.to_webex())
    assert read.email is None


def test_the_setting_is_always_written_whole() -> None:
    setting = NotificationSetting.model_validate({"emergencyCallNotificationEnabled": True})
    assert setting.to_webex() == {
        "emergencyCallNotificationEnabled": True,
        "allowEmailNotificationAllLocationEnabled": False,
        "emailAddress": "",
    }


@pytest.mark.parametrize(("inputs", "valid"), [
    ({"action": "save_settings", "token": "t" * 43, "enabled": "true", "email": "a@b.co"}, True),
    ({"action": "save_settings", "token": "t" * 43, "enabled": "False", "email": "a@b.co",
      "allLocations": "true"}, True),
    ({"action": "save_settings", "token": "t" * 43, "enabled": "maybe", "email": "a@b.co"},
     False),
    ({"action": "save_settings", "token": "short", "enabled": "true", "email": "a@b.co"}, False),
    ({"action": "save_settings", "token": "t" * 43 + "!", "enabled": "true", "email": "x"},
     False),
    ({"action": "drop_tables", "token": "t" * 43}, False),
    ({"token": "t" * 43}, False),
    ({"action": "confirm_disable", "token": "t" * 43}, True),
    ({"action": "status"}, True),
])
def test_card_submissions_are_typed_by_their_action(inputs: dict[str, str], valid: bool) -> None:
    try:
        CARD_SUBMISSION.validate_python(inputs)
    except ValidationError:
        assert not valid
    else:
        assert valid


@pytest.mark.parametrize(("error", "attempt", "low", "high"), [
    (TransientWebexError("x", status=429, retry_after=3), 1, 3.0, 3.0),
    (TransientWebexError("x", status=429, retry_after=3600), 1, 30.0, 30.0),
    (TransientWebexError("x", status=503), 1, 0.1, 0.2),
    (TransientWebexError("x", status=503), 3, 0.4, 0.8),
    (TransientWebexError("x", status=None), 10, 2.5, 5.0),
])
def test_retries_wait_for_retry_after_capped_else_back_off_with_jitter(
    error: TransientWebexError, attempt: int, low: float, high: float
) -> None:
    for _ in range(20):
        assert low <= RetryPolicy(retry_after_cap=30.0).delay(attempt, error) <= high


async def test_the_cache_loads_once_for_concurrent_misses_and_is_bounded() -> None:
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return calls

    cache: TTLCache[str, int] = TTLCache(ttl=60, maxsize=3)
    assert await asyncio.gather(*(cache.get_or_load("k", load) for _ in range(10))) == [1] * 10
    for key in "abcdef":
        cache.put(key, 0)
    assert len(cache) == 3


async def test_a_cancelled_loader_does_not_cancel_the_others_waiting() -> None:
    started = asyncio.Event()

    async def slow() -> int:
        started.set()
        await asyncio.sleep(10)
        return 1

    async def quick() -> int:
        return 2

    cache: TTLCache[str, int] = TTLCache(ttl=60)
    first = asyncio.create_task(cache.get_or_load("k", slow))
    await started.wait()
    second = asyncio.create_task(cache.get_or_load("k", quick))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == 2


@pytest.mark.parametrize("missing", ["WEBEX_BOT_TOKEN", "WEBEX_ADMIN_TOKEN",
                                     "WEBEX_WEBHOOK_SECRET"])
def test_serve_without_a_required_setting_is_one_line_and_exit_2(missing: str,
                                                                  tmp_path: object) -> None:
    env = {"PATH": "/usr/bin:/bin", "WEBEX_BOT_TOKEN": "bot-token-123456",
           "WEBEX_ADMIN_TOKEN": "admin-token-123456", "WEBEX_WEBHOOK_SECRET": "secret-123456",
           missing: "  "}
    done = subprocess.run([sys.executable, "-m", "bot", "serve"], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {missing} is not set (required for serve)"]
    for secret in ("bot-token-123456", "admin-token-123456", "secret-123456"):
        assert secret not in done.stderr + done.stdout


@pytest.mark.parametrize(("window", "hours", "ok"), [
    (600, 168, True),
    (3599, 1, True),
    (3600, 1, False),
    (7200, 1, False),
])
def test_a_resume_window_must_be_shorter_than_the_inbox_retention(window: int, hours: int,
                                                                   ok: bool) -> None:
    # Otherwise a start would resume (or bring in from the journal) events the inbox had
    # finished and forgotten already, and run them again.
    def settings() -> Settings:
        return Settings(_env_file=None, INBOX_RESUME_WINDOW_SECONDS=window,
                        INBOX_RETENTION_HOURS=hours)

    if ok:
        assert settings().inbox_resume_window.total_seconds() == window
        return
    with pytest.raises(ValidationError, match="INBOX_RESUME_WINDOW_SECONDS"):
        settings()


def test_serve_with_a_resume_window_longer_than_retention_is_one_line_and_exit_2(
        tmp_path: object) -> None:
    env = {"PATH": "/usr/bin:/bin", "WEBEX_BOT_TOKEN": "bot-token-123456",
           "WEBEX_ADMIN_TOKEN": "admin-token-123456", "WEBEX_WEBHOOK_SECRET": "secret-123456",
           "INBOX_RESUME_WINDOW_SECONDS": "7200", "INBOX_RETENTION_HOURS": "1"}
    done = subprocess.run([sys.executable, "-m", "bot", "serve"], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert "INBOX_RESUME_WINDOW_SECONDS" in line
    for secret in ("bot-token-123456", "admin-token-123456", "secret-123456"):
        assert secret not in done.stderr + done.stdout


def test_a_passing_failure_is_retried_after_a_doubling_capped_backoff() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4, 5, 6, 7, 50)] == [
        2, 4, 8, 16, 32, 60, 60, 60]
