"""A backlog in the inbox is claimed while the queue has room, not 500 per sweep (issue 14
item 12); /readyz and /metrics live on the ops port only (item 13)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bot.emulator import Emulator
from bot.server.app import RUNNER
from bot.settings import Settings
from tests.e2e.harness import running_bot


async def test_one_sweep_takes_a_backlog_larger_than_a_batch(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, webhooks=False, MAX_CONCURRENT_EVENTS=1) as bot:
        emu.latency = 5.0  # nothing finishes while we look
        now = datetime.now(UTC)
        backlog = [(f"messages:B{i}", "messages", "created",
                    {"resource": "messages", "event": "created",
                     "data": {"id": f"B{i}", "roomId": "R", "personId": "P"}}, now)
                   for i in range(1200)]
        await bot.store.record_events(backlog)  # acknowledged while the queue had no room

        taken = await bot.app[RUNNER].sweep()

        assert taken == 1200  # all of it, in pages, because the queue had room for all
        assert bot.app[RUNNER].busy == 1200
        emu.latency = 0.0


async def test_readyz_and_metrics_are_on_the_ops_port_only(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, webhooks=False) as bot, aiohttp.ClientSession() as http:
        for path in ("/readyz", "/metrics"):
            async with http.get(bot.url + path) as reply:
                assert reply.status == 404, path  # not on the webhook port
            async with http.get(bot.ops_url + path) as reply:
                assert reply.status == 200, path
        async with http.get(bot.url + "/healthz") as reply:
            assert reply.status == 200


def test_the_ops_port_listens_on_loopback_by_default() -> None:
    settings = Settings(_env_file=None)
    assert (settings.OPS_HOST, settings.OPS_PORT) == ("127.0.0.1", 9091)
