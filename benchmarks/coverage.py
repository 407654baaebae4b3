"""python -m benchmarks.coverage: `coverage` over a large organization, the bot and the emulator
in processes of their own.

    python -m benchmarks.coverage [--latency 0.05] [--locations 1000] [--repeat 3] [--storm]

Per run: when the progress line landed and when the report card landed (from the webhook's
send), against the floor a cap of WEBEX_MAX_CONCURRENCY (10) calls in flight sets —
pages × L + ⌈locations / 10⌉ × L —, and how much the bot's memory (Pss of both processes) grew.
With --storm, a 429 (Retry-After: 1) answers ten location reads once the progress line is there:
the run then also checks that no call arrived inside the window and that no location was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.client import create_message, envelope
from benchmarks.procs import SECRET, BotProcess, EmulatorProcess, emulator_process, start_bot
from benchmarks.seed import admin_name, space_name
from benchmarks.sender import Sender

READS = "/telephony/config/locations/*/emergencyCallNotification"
LIST = "/telephony/config/location[s]"
CAP = 10


async def _bot_posts(http: aiohttp.ClientSession, emu: EmulatorProcess, parent: str
                     ) -> list[dict[str, Any]]:
    async with http.get(f"{emu.control}/requests",
                        params={"method": "POST", "path": "/messages"}) as reply:
        items = (await reply.json())["items"]
    return [r for r in items if r["status"] == 200 and (r["json"] or {}).get("parentId") == parent]


async def one_run(http: aiohttp.ClientSession, emu: EmulatorProcess, bot: BotProcess,
                  sender: Sender, i: int, latency: float, storm: bool) -> dict[str, Any]:
    message = await create_message(http, emu.control, admin_name(i), space_name(i), "coverage")
    before = bot.status()
    status, sent_at, _ = await sender.post(envelope(emu.seed, message))
    assert status == 200, status
    progress = card = None
    peak = before["Pss"]
    deadline = time.monotonic() + 300
    while card is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        peak = max(peak, bot.status()["Pss"])
        posts = await _bot_posts(http, emu, message["id"])
        if progress is None and posts:
            progress = posts[0]
            if storm:
                emu.post("/faults", {"path": READS, "status": 429, "retry_after": 1, "times": 10})
        card = next((p for p in posts if p["json"].get("attachments")), None)
    assert progress is not None and card is not None, "no report within 300 s"
    after = bot.status()
    calls = [c for c in emu.calls() if c["arrived"] >= sent_at]
    pages = sum(1 for c in calls if c["method"] == "GET" and c["path"] ==
                "/telephony/config/locations")
    reads = [c for c in calls if c["method"] == "GET" and c["path"].endswith(
        "/emergencyCallNotification") and "/locations/" in c["path"]]
    locations = len({c["path"] for c in reads if c["status"] == 200})
    floor = pages * latency + math.ceil(locations / CAP) * latency
    report = card["at"] - sent_at
    result = {
        "progress_s": round(progress["at"] - sent_at, 3),
        "progress_is_text": not progress["json"].get("attachments"),
        "report_s": round(report, 3), "floor_s": round(floor, 3),
        "report_x_floor": round(report / floor, 3) if floor else None,
        "pages": pages, "locations_read": locations,
        "reads_refused_429": sum(1 for c in reads if c["status"] == 429),
        "pss_growth_mb": round((after["Pss"] - before["Pss"]) / 1024, 1),
        "pss_peak_growth_mb": round((peak - before["Pss"]) / 1024, 1),
    }
    if storm:
        refused = [c for c in reads if c["status"] == 429]
        inside = [c for r in refused for c in calls if r["at"] + 0.1 < c["arrived"] < r["at"] + 1]
        result["calls_inside_retry_after"] = len(inside)
    return result


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"latency_s": args.latency, "locations": args.locations,
                               "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": []}
    with emulator_process(admins=max(args.repeat, 1), locations=args.locations) as emu, \
            tempfile.TemporaryDirectory() as tmp:
        bot = start_bot(emu, Path(tmp), LOG_LEVEL="WARNING")
        try:
            emu.set_latency(args.latency)
            async with aiohttp.ClientSession() as http:
                sender = Sender(bot.webhook_url, SECRET.encode())
                for i in range(args.repeat):
                    for storm in (False, True) if args.storm else (False,):
                        print(f"… run {i + 1}{' (429 storm)' if storm else ''}", file=sys.stderr,
                              flush=True)
                        run = await one_run(http, emu, bot, sender, i, args.latency, storm)
                        results["runs"].append({"storm": storm, **run})
                        emu.post("/reset")
                        emu.set_latency(args.latency)
                        await asyncio.sleep(1.0)
        finally:
            results["bot_exit_status"] = bot.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.coverage", description=__doc__)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--locations", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--storm", action="store_true")
    parser.add_argument("--output", help="write the JSON here too")
    args = parser.parse_args(argv)
    results = asyncio.run(measure(args))
    text = json.dumps(results, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
