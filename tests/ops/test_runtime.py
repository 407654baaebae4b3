"""The running bot as an operator sees it: admin token refresh, /readyz, /metrics, rate limit."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.emulator import Emulator
from bot.sealing import generate_key
from tests.e2e.harness import RunningBot, running_bot
from tests.e2e.helpers import card_text, puts, say

SETTING = "/telephony/config/emergencyCallNotification"
KEY = generate_key()


def oauth(emu: Emulator) -> dict[str, object]:
    return {
        "WEBEX_ADMIN_TOKEN": None,
        "WEBEX_CLIENT_ID": emu.seed.client_id,
        "WEBEX_CLIENT_SECRET": emu.seed.client_secret,
        "WEBEX_ADMIN_REFRESH_TOKEN": emu.seed.admin_refresh_token,
        "TOKEN_ENCRYPTION_KEY": KEY,  # the rotated tokens are stored sealed with it
    }


def refreshes(emu: Emulator) -> list:
    return emu.calls("POST", "/access_token")


def issued_tokens(emu: Emulator) -> list[str]:
    """Access tokens the emulator issued through a refresh (the seeded ones never expire)."""
    return [t for t, info in emu.state.tokens.items() if info.expires_at is not None]


async def get(bot: RunningBot, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(bot.url + path) as reply:
        return reply.status, await reply.text()


async def test_an_expired_admin_token_is_refreshed_and_the_restart_reuses_it(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, **oauth(emu)):
        assert len(refreshes(emu)) == 1  # at start: the bot had no access token yet
        [first] = issued_tokens(emu)
        emu.expire_token(first)

        await say(emu, "alice", "direct_alice", "enable ops@example.com")

        assert [w.json["emailAddress"] for w in puts(emu)] == ["ops@example.com"]
        assert len(refreshes(emu)) == 2
        assert [c.status for c in refreshes(emu)] == [200, 200]

    async with running_bot(emu, tmp_path, **oauth(emu)) as bot:
        reply = await say(emu, "alice", "direct_alice", "status")

        assert "ops@example.com" in card_text(reply)
        assert len(refreshes(emu)) == 2  # the token kept in the database was used
        assert (await get(bot, "/readyz"))[0] == 200


async def test_a_revoked_refresh_token_means_not_ready_and_a_clear_reply(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, **oauth(emu)) as bot:
        assert (await get(bot, "/readyz"))[0] == 200
        emu.revoke_refresh_token(emu.seed.admin_refresh_token)
        for token in issued_tokens(emu):
            emu.expire_token(token)

        reply = await say(emu, "alice", "direct_alice", "enable ops@example.com")

        assert "cannot reach the Webex admin API" in card_text(reply)
        assert puts(emu) == []
        status, body = await get(bot, "/readyz")
        assert status == 503
        assert "admin token" in body
        assert emu.seed.admin_refresh_token not in body
        assert emu.seed.client_secret not in body


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_events_commands_and_webex_calls(emu: Emulator, tmp_path: Path) -> None:
    async with running_bot(emu, tmp_path) as bot:
        status, text = await get(bot, "/metrics")
        assert status == 200
        before = samples(text)

        await say(emu, "alice", "direct_alice", "enable ops@example.com")
        await bot.idle()
        after = samples((await get(bot, "/metrics"))[1])

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # the receiver labels events by resource/event, the runner by resource
    assert delta("ecn_bot_events_total", type="messages/created", outcome="accepted") >= 1
    assert delta("ecn_bot_events_total", type="messages/created", outcome="done") >= 1
    assert delta("ecn_bot_commands_total", command="enable", outcome="ok") == 1
    applied = {
        k: v
        for k, v in after.items()
        if k[0] == "ecn_bot_changes_total" and ("outcome", "applied") in k[1]
    }
    assert sum(applied.values()) == 1
    assert delta("ecn_bot_webex_calls_total", endpoint="GET /messages/{id}", status="200") >= 1
    assert delta("ecn_bot_webex_calls_total", endpoint=f"PUT {SETTING}", status="204") == 1
    assert delta("ecn_bot_webex_calls_total", endpoint="POST /messages", status="200") >= 1


async def test_the_fourth_command_in_a_minute_gets_a_polite_slow_down(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, COMMAND_RATE_PER_MINUTE=3):
        for _ in range(3):
            assert "security@acme.example" in card_text(
                await say(emu, "alice", "direct_alice", "status")
            )
        telephony_before = len(emu.calls(path=SETTING))

        reply = await say(emu, "alice", "direct_alice", "enable ops@example.com")

        assert "slow down" in card_text(reply).lower()
        assert len(emu.calls(path=SETTING)) == telephony_before
        assert puts(emu) == []
        # someone else is not slowed down by alice
        assert "security@acme.example" in card_text(await say(emu, "uma", "direct_uma", "status"))
