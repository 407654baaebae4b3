"""SIGTERM in the middle of a burst: `python -m bot serve` as a real process, restarted after."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from bot.emulator import Emulator
from tests.e2e.helpers import puts
from tests.procs import BotProcess, free_port, start_serve, wait_for

GRACE = 1.0


async def start_bot(emu: Emulator, tmp_path: Path, port: int) -> BotProcess:
    return await start_serve(
        emu, tmp_path, port=port, log=tmp_path / "bot.log",
        DATABASE_URL=f"sqlite:///{tmp_path}/bot.db", PUBLIC_URL=f"http://127.0.0.1:{port}",
        INBOX_LEASE_SECONDS="1", SHUTDOWN_GRACE_SECONDS=str(GRACE),
    )


async def stop_bot(bot: BotProcess) -> float:
    """SIGTERM; exit status 0 within the grace (and some slack); how long it took."""
    started = asyncio.get_running_loop().time()
    await bot.stop(timeout=GRACE + 10)
    return asyncio.get_running_loop().time() - started


def replies(emu: Emulator) -> Counter[str]:
    """Bot replies per command message (the bot answers group mentions in their thread)."""
    return Counter(
        m.get("parentId")
        for m in emu.state.messages.values()
        if m["personId"] == emu.seed.bot_id and m.get("parentId")
    )


async def test_sigterm_during_a_burst_loses_nothing_and_doubles_nothing(
    emu: Emulator, tmp_path: Path
) -> None:
    port = free_port()
    first = await start_bot(emu, tmp_path, port)
    assert len(emu.calls("POST", "/webhooks")) == 3  # serve set its webhooks up from PUBLIC_URL
    emu.latency = 0.2

    people = ("alice", "uma", "rita", "bob")
    commands: dict[str, str] = {}
    for i in range(20):
        person = people[i % len(people)]
        text = f"set email p{i}@example.com" if person in ("alice", "uma") else "status"
        sent = await emu.post_message(person=person, room="group", text=text, mention_bot=True)
        commands[sent["id"]] = text
    await emu.idle(timeout=10)  # every delivery answered by the bot before the signal
    to_bot = [d for d in emu.deliveries if d.resource == "messages" and d.data_id in commands]
    assert len(to_bot) == 20
    assert all(d.ok for d in to_bot)
    await wait_for(lambda: len(replies(emu)) >= 2, 15, "the first replies")

    took = await stop_bot(first)
    assert took < GRACE + 5
    answered_before_restart = len(replies(emu))
    assert answered_before_restart < 20, "the burst ended before the signal: test proves nothing"

    second = await start_bot(emu, tmp_path, port)
    await wait_for(lambda: set(replies(emu)) >= set(commands), 30, "every command answered")
    await stop_bot(second)

    counts = replies(emu)
    assert {cid: counts[cid] for cid in commands} == dict.fromkeys(commands, 1)
    written = Counter(w.json["emailAddress"] for w in puts(emu))
    assert {e: n for e, n in written.items() if n > 1} == {}  # no change written twice
    # A change cut by the restart after others were made since is not written over theirs;
    # its requester is told so. Every other change is applied exactly once.
    superseded = {m.get("parentId") for m in emu.state.messages.values()
                  if m["personId"] == emu.seed.bot_id
                  and "Not applied" in (m.get("markdown") or "")}
    wanted = {t.split()[-1] for cid, t in commands.items()
              if t.startswith("set email") and cid not in superseded}
    assert set(written) >= wanted
    assert len(emu.calls("POST", "/webhooks")) == 3  # the restart found them up to date
    assert emu.calls("PUT", "/webhooks/*") == []
