"""Whatever arrives at the webhook, and whatever people type: never a 5xx, always a reply."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.emulator import ApiError, Emulator, running_emulator
from bot.security import sign
from tests.e2e.harness import SECRET, RunningBot, running_bot
from tests.e2e.helpers import envelope_for, say

pytestmark = pytest.mark.load
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@dataclass
class Background:
    """The emulator and the bot on their own event loop in a thread, for sync tests."""

    loop: asyncio.AbstractEventLoop
    emu: Emulator
    bot: RunningBot

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def failed_events(self) -> float:
        text = requests.get(f"{self.bot.ops_url}/metrics", timeout=5).text
        return sum(float(line.split()[-1]) for line in text.splitlines()
                   if line.startswith("ecn_bot_events_total{") and 'outcome="failed"' in line)


@pytest.fixture(scope="module")
def background(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Background]:
    loop = asyncio.new_event_loop()
    ready: Future[Background] = Future()
    stop = asyncio.Event()
    tmp: Path = tmp_path_factory.mktemp("hostile")

    async def main() -> None:
        try:
            async with running_emulator() as emu, running_bot(emu, tmp) as bot:
                ready.set_result(Background(loop, emu, bot))
                await stop.wait()
        except BaseException as error:
            if not ready.done():
                ready.set_exception(error)
            raise

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        yield ready.result(30)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()


def post(background: Background, body: bytes, headers: dict[str, str]) -> int:
    reply = requests.post(background.bot.webhook_url, data=body, headers=headers, timeout=10)
    return reply.status_code


header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126),
                        max_size=60).map(str.strip)
header_names = st.sampled_from(["Content-Type", "X-Spark-Signature", "Content-Encoding",
                                "Transfer-Encoding-Hint", "X-Forwarded-For", "Accept"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)


@FAST
@given(body=st.binary(max_size=2048), signed=st.booleans(),
       headers=st.dictionaries(header_names, header_values, max_size=3))
def test_arbitrary_bytes_and_headers_never_get_a_5xx(
    background: Background, body: bytes, signed: bool, headers: dict[str, str]
) -> None:
    if signed:
        headers = {**headers, "X-Spark-Signature": sign(SECRET.encode(), body)}
    assert post(background, body, headers) < 500


@FAST
@given(payload=json_values, signed=st.booleans())
def test_arbitrary_json_never_gets_a_5xx(background: Background, payload: Any, signed: bool
                                         ) -> None:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["X-Spark-Signature"] = sign(SECRET.encode(), body)
    assert post(background, body, headers) < 500


@FAST
@given(
    resource=st.sampled_from(["messages", "attachmentActions", "memberships", "rooms", ""])
    | st.text(max_size=70),
    event=st.sampled_from(["created", "deleted", "updated"]) | st.text(max_size=70),
    data=st.fixed_dictionaries({}, optional={
        "id": st.text(max_size=30) | json_values, "roomId": st.text(max_size=30) | json_values,
        "personId": st.text(max_size=30) | json_values, "roomType": json_values,
        "messageId": json_values, "created": json_values, "parentId": json_values,
    }),
    extra=st.dictionaries(st.sampled_from(["actorId", "orgId", "id", "createdBy", "name"]),
                          json_values, max_size=3),
    signed=st.booleans(),
)
def test_valid_looking_envelopes_with_random_fields_never_get_a_5xx(
    background: Background, resource: Any, event: Any, data: dict[str, Any],
    extra: dict[str, Any], signed: bool,
) -> None:
    body = json.dumps({"resource": resource, "event": event, "data": data, **extra}).encode()
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["X-Spark-Signature"] = sign(SECRET.encode(), body)
    assert post(background, body, headers) < 500
    assert background.failed_events() == 0


@settings(max_examples=60, deadline=None)
@given(text=st.text(min_size=1, max_size=300).filter(lambda t: t.strip()))
def test_any_text_a_person_types_gets_a_reply_and_never_an_error(
    background: Background, text: str
) -> None:
    emu = background.emu

    async def ask() -> dict[str, Any] | None:
        try:
            return await say(emu, "alice", "direct_alice", text, timeout=10)
        except ApiError:
            return None  # Webex itself would not take this message

    reply = background.run(ask())
    assume(reply is not None)
    assert reply["personId"] == emu.seed.bot_id
    assert background.failed_events() == 0


def test_a_message_deleted_before_the_bot_reads_it_fails_nothing(background: Background
                                                                  ) -> None:
    emu = background.emu
    message = background.run(emu.post_message(person="bob", room="direct_bob", text="status"))
    background.run(asyncio.sleep(0.5))
    fake = {**message, "id": re.sub(r".$", "X", message["id"])}
    body = envelope_for(emu, fake)
    headers = {"Content-Type": "application/json",
               "X-Spark-Signature": sign(SECRET.encode(), body)}
    assert post(background, body, headers) == 200
    background.run(background.bot.idle())
    assert background.failed_events() == 0
