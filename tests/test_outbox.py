"""An event's last write (its finish, or its release) carries every reply record and card
attachment not yet written, even when a background flush of them is under way: the finish may
go ahead of queued store work, so it must not leave a flush behind it."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.outbox import FLUSH_AFTER_SECONDS, Outbox


class SlowRecorder:
    """A store write that takes until `done` is set, or fails when told to."""

    def __init__(self, *, fail: bool = False) -> None:
        self.done = asyncio.Event()
        self.fail = fail
        self.written: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.started = asyncio.Event()

    async def __call__(self, steps: dict[str, Any], cards: dict[str, str]) -> None:
        self.started.set()
        await self.done.wait()
        if self.fail:
            raise ConnectionError("the database went away")
        self.written.append((steps, cards))


async def _flush_under_way(recorder: SlowRecorder) -> Outbox:
    outbox = Outbox(recorder=recorder)
    outbox.record_later("reply", "M1")
    assert outbox.attach_later("T1", "M1")
    await asyncio.wait_for(recorder.started.wait(), FLUSH_AFTER_SECONDS * 40)
    return outbox


async def test_the_last_write_waits_for_a_flush_under_way() -> None:
    recorder = SlowRecorder()
    outbox = await _flush_under_way(recorder)
    last = asyncio.ensure_future(outbox.take_last())
    await asyncio.sleep(0.01)
    assert not last.done()  # the finish would otherwise be committed before the flush

    recorder.done.set()
    assert await last == ({}, {})  # the flush wrote them: nothing left for the finish
    assert recorder.written == [({"reply": {"message_id": "M1"}}, {"T1": "M1"})]


async def test_what_a_failed_flush_held_goes_with_the_last_write() -> None:
    recorder = SlowRecorder(fail=True)
    outbox = await _flush_under_way(recorder)
    recorder.done.set()

    assert await outbox.take_last() == ({"reply": {"message_id": "M1"}}, {"T1": "M1"})
    assert recorder.written == []


async def test_with_no_flush_under_way_the_last_write_takes_what_is_there() -> None:
    recorder = SlowRecorder()
    outbox = Outbox(recorder=recorder)
    outbox.record_later("reply", "M2")
    assert await outbox.take_last() == ({"reply": {"message_id": "M2"}}, {})
    await asyncio.sleep(FLUSH_AFTER_SECONDS * 3)
    assert not recorder.started.is_set()  # its timer was stopped: nothing is written twice
