"""The bot's own group messages: the receiver keeps their ids (room, message, thread, time)
and nothing else, where a resumed reply looks for them, and runs none of them (issue 14 item 9)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest
from pytest_aiohttp import AiohttpClient

from bot.receiving.guard import guard_for
from bot.receiving.journal_worker import JournalOwnMessages
from bot.receiving.process import FrontSpec, _recorder, create_front_app
from bot.receiving.spool import Spool
from bot.security import SIGNATURE_HEADER, sign
from bot.store import Store
from tests.ops.test_receiver_process import SECRET, T0, LinkWriter, front_settings, link_to

WORDS = "Setting changed by Alice"  # what a message's text would say: never kept


def own_envelope(message_id: str, room_type: str, parent: str | None = "THREAD"
                 ) -> tuple[bytes, dict[str, str]]:
    data: dict[str, Any] = {"id": message_id, "roomId": "GROUP", "roomType": room_type,
                            "personId": "BOT", "personEmail": "bot@webex.bot",
                            "created": "2026-11-27T10:00:00.000Z",
                            "text": WORDS, "markdown": WORDS}  # an envelope carrying more
    if parent:
        data["parentId"] = parent
    body = json.dumps({"id": "W1", "resource": "messages", "event": "created",
                       "actorId": "BOT", "data": data}).encode()
    return body, {SIGNATURE_HEADER: sign(SECRET.encode(), body),
                  "Content-Type": "application/json"}


def everything_in(path: Path) -> list[tuple[str, tuple[Any, ...]]]:
    """Every row of every table of a SQLite file, with its table's name."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [(t, row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"')]  # noqa: S608
    finally:
        conn.close()


async def test_the_receiver_keeps_only_the_ids_of_its_own_group_messages(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    journal = tmp_path / "bot.db-intake"
    writer = LinkWriter()
    link = link_to(writer)
    spec = FrontSpec(-1, str(journal), str(tmp_path / "e.sock"), str(tmp_path / "h.sock"),
                     "BOT", "1", 30.0)
    async with _recorder(front_settings(), spec, link) as (record, remember):
        client = await aiohttp_client(create_front_app(
            front_settings(), spec, record, link, Spool(None), guard_for(100, 10), remember))
        for body, headers in (own_envelope("M1", "group"), own_envelope("M2", "direct")):
            async with client.post("/webhooks/webex", data=body, headers=headers) as reply:
                assert reply.status == 200
                assert await reply.json() == {"status": "own event"}  # not run

    rows = everything_in(journal)
    assert rows == [("own_messages", ("M1", "GROUP", "THREAD", "2026-11-27T10:00:00+00:00"))]
    assert [m for m in writer.messages if "count" not in m] == []  # nothing for the worker
    # Where a resumed reply looks (the worker reads the journal).
    kept = JournalOwnMessages(str(journal))
    assert await kept.own_messages_in("GROUP", "THREAD", T0) == ["M1"]
    assert await kept.own_messages_in("GROUP", "OTHER", T0) == []


async def test_without_a_journal_the_store_keeps_the_same_and_no_more(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    """The path PostgreSQL (and an in-memory SQLite) takes: the receiver writes to the store."""
    store = await Store.open(f"sqlite:///{tmp_path}/bot.db")
    writer = LinkWriter()
    link = link_to(writer, journaled=False)
    spec = FrontSpec(-1, "", str(tmp_path / "e.sock"), str(tmp_path / "h.sock"), "BOT", "1",
                     30.0)
    try:
        client = await aiohttp_client(create_front_app(
            front_settings(), spec, store.record_event, link, Spool(None), guard_for(100, 10),
            store.record_own_message))
        for body, headers in (own_envelope("M1", "group"), own_envelope("M3", "group", None),
                              own_envelope("M2", "direct")):
            async with client.post("/webhooks/webex", data=body, headers=headers) as reply:
                assert await reply.json() == {"status": "own event"}
        assert await store.own_messages_in("GROUP", "THREAD", T0) == ["M1"]
        assert sorted(await store.own_messages_in("GROUP", None, None)) == ["M1", "M3"]
    finally:
        await store.close()

    kept = [(table, row) for table, row in everything_in(tmp_path / "bot.db")
            if table != "schema_version"]
    assert [(t, row[:3]) for t, row in kept] == [
        ("own_messages", ("M1", "GROUP", "THREAD")), ("own_messages", ("M3", "GROUP", None))]
    assert WORDS not in repr(kept) and "bot@webex.bot" not in repr(kept)


async def test_when_the_ids_cannot_be_kept_the_ack_is_not_held_and_one_warning_says_so(
    aiohttp_client: AiohttpClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def refusing(message_id: str, room_id: str, parent_id: str | None,
                       created: datetime) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    link = link_to(LinkWriter())
    spec = FrontSpec(-1, "", str(tmp_path / "e.sock"), str(tmp_path / "h.sock"), "BOT", "1",
                     30.0)
    client = await aiohttp_client(create_front_app(
        front_settings(), spec, cast(Any, None), link, Spool(None), guard_for(100, 10),
        refusing))
    for message_id in ("M1", "M2", "M3"):
        body, headers = own_envelope(message_id, "group")
        async with client.post("/webhooks/webex", data=body, headers=headers) as reply:
            assert await reply.json() == {"status": "own event"}
    assert caplog.text.count("keeping the ids of the bot's own group messages fails") == 1
