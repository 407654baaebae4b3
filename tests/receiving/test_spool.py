"""When the inbox refuses a webhook, the receiver still answers 200: the event goes to the
spool file (or, if that fails too, to the worker's memory) marked to be recorded, and the
log says so once, not once per event (issue 14 items 1 and 14)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from bot.receiving.guard import guard_for
from bot.receiving.journal import read_intake
from bot.receiving.process import FrontSpec, create_front_app
from bot.receiving.spool import Spool
from bot.security import SIGNATURE_HEADER, sign
from tests.ops.test_receiver_process import SECRET, T0, LinkWriter, front_settings, link_to


async def refusing(key: str, resource: str, event: str, body: dict[str, Any],
                   now: datetime) -> bool:
    raise ConnectionRefusedError("the database is down")


def envelope(i: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"resource": "messages", "event": "created",
                       "data": {"id": f"M{i}", "roomId": "R1", "personId": "ALICE"}}).encode()
    return body, {SIGNATURE_HEADER: sign(SECRET.encode(), body),
                  "Content-Type": "application/json"}


@pytest.mark.parametrize("writable", [True, False], ids=["spool-file", "memory-only"])
async def test_a_webhook_the_inbox_refuses_is_acknowledged_and_kept(
    aiohttp_client: AiohttpClient, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    writable: bool,
) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / ("spool.db" if writable else "no-such-dir/spool.db")
    writer = LinkWriter()
    link = link_to(writer, journaled=False)  # PostgreSQL: the receiver writes the inbox
    spool = Spool(str(path), link.recording)
    spec = FrontSpec(-1, "", str(tmp_path / "e.sock"), str(tmp_path / "h.sock"), "BOT", "1",
                     30.0)
    client = await aiohttp_client(create_front_app(front_settings(), spec, refusing, link,
                                                   spool, guard_for(100, 10)))
    for i in range(5):
        body, headers = envelope(i)
        async with client.post("/webhooks/webex", data=body, headers=headers) as reply:
            assert reply.status == 200  # never a 503: Webex would not deliver it again
            assert await reply.json() == {"status": "accepted"}
    spool.close()

    handed = [m for m in writer.messages if "key" in m]
    assert [m["key"] for m in handed] == [f"messages:M{i}" for i in range(5)]
    assert all(m["journaled"] for m in handed)  # the worker records them in the inbox
    assert [m for m in writer.messages if "recording_failing" in m] == [
        {"recording_failing": True}]
    outcome = "spooled" if writable else "kept_in_memory"
    assert writer.messages.count({"count": ["messages/created", outcome]}) == 5
    if writable:
        assert [row[0] for row in read_intake(str(path), T0.replace(year=2000))] == [
            f"messages:M{i}" for i in range(5)]
    assert caplog.text.count("recording webhooks fails") == 1
    assert "Traceback" not in caplog.text
