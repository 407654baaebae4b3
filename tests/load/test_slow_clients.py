"""Slow and half-sent connections against the real `serve` (issue 14 item 2): they are closed
by their deadlines, capped per peer and in all, and never keep Webex's deliveries out, even
under a 1,024 file-descriptor limit; a body larger than an envelope is refused before its
signature is computed."""

from __future__ import annotations

import asyncio
import contextlib
import resource
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.emulator import Emulator
from bot.security import sign
from tests.e2e.harness import SECRET
from tests.procs import BotProcess, start_serve, wait_for

pytestmark = pytest.mark.load
FLOOD = 1800  # as in the issue: more than the bot's file descriptors
PEERS = [f"127.0.0.{i}" for i in range(2, 10)]  # 225 each: under the per-peer cap of 256
DEADLINE = 2.0


@pytest.fixture(autouse=True)
def enough_descriptors() -> None:
    """This test process holds the flood's other ends."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * FLOOD:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8 * FLOOD), hard))


@contextlib.asynccontextmanager
async def served(emu: Emulator, tmp_path: Path, receiver: bool) -> AsyncIterator[BotProcess]:
    bot = await start_serve(
        emu, tmp_path, nofile=1024, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        RECEIVER_PROCESS=str(receiver).lower(), REQUEST_DEADLINE_SECONDS=str(DEADLINE),
    )
    try:
        yield bot
    finally:
        await bot.stop()


async def half_request(port: int, source: str, n: int
                       ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """Headers never finished, or 1 byte of a 1,000-byte body; None if refused at once."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    except OSError:
        return None
    if n % 2:
        writer.write(b"POST /webhooks/webex HTTP/1.1\r\nHost: bot\r\nX-Spark-Sig")
    else:
        writer.write(b"POST /webhooks/webex HTTP/1.1\r\nHost: bot\r\nContent-Length: 1000\r\n"
                     b"Content-Type: application/json\r\n\r\n{")
    return reader, writer


async def closed(reader: asyncio.StreamReader) -> bool:
    with contextlib.suppress(OSError):
        await reader.read()  # EOF (or reset) once the bot has closed it
    return True


@pytest.mark.parametrize("receiver", [True, False], ids=["receiving-process", "one-process"])
async def test_a_flood_of_half_sent_requests_never_keeps_a_delivery_out(
    emu: Emulator, tmp_path: Path, receiver: bool
) -> None:
    async with served(emu, tmp_path, receiver) as bot:
        conns = [c for c in await asyncio.gather(*(
            half_request(bot.port, PEERS[i % len(PEERS)], i) for i in range(FLOOD)))
            if c is not None]
        assert len(conns) > 1000  # the kernel took them; the bot is holding or closing them

        # Webex delivers while they hang: every delivery is acknowledged and answered.
        status = []
        for i in range(5):
            body = (b'{"id":"w","resource":"rooms","event":"updated","data":{"id":"R%d"}}' % i)
            headers = {"X-Spark-Signature": sign(SECRET.encode(), body),
                       "Content-Type": "application/json"}
            async with aiohttp.ClientSession() as http, http.post(
                    bot.webhook_url, data=body, headers=headers,
                    timeout=aiohttp.ClientTimeout(total=10)) as reply:
                status.append(reply.status)
        assert status == [200] * 5

        # And every half-sent request is closed within its deadline (headers, then body).
        done = await asyncio.wait_for(
            asyncio.gather(*(closed(reader) for reader, _ in conns)), DEADLINE * 4)
        assert all(done)
        for _, writer in conns:
            writer.close()
        text = await metrics_text(bot)
        assert 'ecn_bot_connections_refused_total{reason="deadline"}' in text
        assert 'ecn_bot_connections_refused_total{reason="evicted"}' in text


async def test_one_peer_gets_its_share_and_no_more(emu: Emulator, tmp_path: Path) -> None:
    async with served(emu, tmp_path, True) as bot:
        conns = [c for c in await asyncio.gather(*(
            half_request(bot.port, "127.0.0.2", i) for i in range(300))) if c is not None]
        readers = [reader for reader, _ in conns]

        await wait_for(lambda: sum(r.at_eof() for r in readers) >= 300 - 256, 5,
                       "the connections beyond the peer's 256 to be closed")
        await asyncio.sleep(0.2)
        assert sum(not r.at_eof() for r in readers) == 256
        for _, writer in conns:
            writer.close()


async def test_a_body_larger_than_an_envelope_is_refused_before_its_signature(
    emu: Emulator, tmp_path: Path
) -> None:
    async with served(emu, tmp_path, True) as bot, aiohttp.ClientSession() as http:
        big = b'{"resource":"messages","event":"created","data":{"id":"M"},"x":"' + \
            b"x" * (100 * 1024) + b'"}'
        headers = {"X-Spark-Signature": sign(SECRET.encode(), big),
                   "Content-Type": "application/json"}
        async with http.post(bot.webhook_url, data=big, headers=headers) as reply:
            assert reply.status == 413
        text = await metrics_text(bot)
        assert "ecn_bot_signature_failures_total 0.0" in text  # never got as far as the HMAC


async def metrics_text(bot: BotProcess) -> str:
    async with aiohttp.ClientSession() as http, http.get(f"{bot.ops_url}/metrics") as reply:
        return await reply.text()
