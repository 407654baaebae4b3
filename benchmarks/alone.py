"""One command at a time: what a `status` command costs when nothing else is in flight.

The tail's figures (benchmarks/arrivals.py) are the same commands with 20 in flight. Set beside
them, this tells the cost of one command's own path (the processes it passes through, the work
each does, the wakeups between them) from what waiting behind the others adds.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.arrivals import segments
from benchmarks.client import percentile
from benchmarks.scenarios import Rig, closed_loop, settle

# A short L, so that the run is short and the bot's idle work (its sweeps, once a second or
# two) is a small part of the CPU per command. The stand-in's own work is inside L either way.
LATENCY = 0.005
COMMANDS = 300


async def alone(rig: Rig, latency: float, commands: int = COMMANDS) -> dict[str, Any]:
    """`commands` status commands from one person, each sent when the last reply landed, at
    L = LATENCY (then back to `latency`)."""
    rig.emu.set_latency(LATENCY)
    try:
        started = time.time()
        cpu_before = rig.cpu_seconds()
        loop = await closed_loop(rig, ["status"], [1], commands)
        cpu_after = rig.cpu_seconds()
        got = loop.latencies["status"]
        parts = segments(loop.sent, loop.landed, await rig.reads(started), LATENCY)
    finally:
        rig.emu.set_latency(latency)
    await settle(rig, quiet=1.0)
    floor = 3 * LATENCY
    out: dict[str, Any] = {
        "latency_ms": LATENCY * 1000, "commands": len(got),
        "p50_over_floor_ms": (percentile(got, 50) - floor) * 1000,
        "p90_over_floor_ms": (percentile(got, 90) - floor) * 1000,
    }
    for side in ("worker", "receiver", "stand_in", "harness"):
        out[f"{side}_cpu_ms_per_command"] = (cpu_after[side] - cpu_before[side]) * 1000 / len(got)
    for name, values in parts.items():
        out[name] = {"p50": percentile(values, 50) * 1000, "p90": percentile(values, 90) * 1000}
    return out


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """The table's rows: figures without a target, beside the tail's."""
    read, rest = r["webhook_to_read_ms"], r["read_answered_to_landed_over_2l_ms"]
    return [
        (f"one command alone (L = {r['latency_ms']:.0f} ms)",
         f"3 L + {r['p50_over_floor_ms']:.1f} ms (p90 + {r['p90_over_floor_ms']:.1f})", "", None),
        ("  its CPU", f"worker {r['worker_cpu_ms_per_command']:.2f} ms, receiver "
         f"{r['receiver_cpu_ms_per_command']:.2f} ms", "", None),
        ("  where (p50)", f"to the read {read['p50']:.1f} ms, read → landed 2 L + "
         f"{rest['p50']:.1f} ms", "", None),
    ]
