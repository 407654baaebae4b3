"""Replies under three arrival patterns at the same mean load: streams spread over a round,
streams started in the same instant (a team reacting to one incident), and random (Poisson)
arrivals; each against the floor of three Webex round trips."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from benchmarks.client import percentile
from benchmarks.scenarios import Rig, closed_loop, settle, summary

PATTERNS = ("staggered", "burst", "poisson")
IN_FLIGHT = 20


async def open_loop(rig: Rig, rate: float, commands: int, seed: int
                    ) -> tuple[list[float], float, list[tuple[float, str]], dict[str, float]]:
    """`commands` status commands arriving at random at `rate` per second (exponential gaps,
    a fixed seed per round), each from the next person and space; every one is timed until
    its reply lands. The messages and their webhooks are made before the first is sent.
    Returns the latencies, the seconds from the first send to the last reply, each command's
    (sent at, message id) and the landing times."""
    draw = random.Random(seed)
    made = await rig.messages([(i + 1, "status") for i in range(commands)])
    requests = [rig.request(m) for m in made]
    # Random arrivals bunch: room for three times the closed loops' in-flight count.
    await rig.sender.open(3 * IN_FLIGHT)
    started_wall = time.time()
    started = time.perf_counter()
    sent: list[tuple[float, str]] = []

    async def one(i: int) -> None:
        sent.append(await rig.command(made[i], requests[i]))

    tasks = []
    due = 0.0
    for i in range(commands):
        due += draw.expovariate(rate)
        await asyncio.sleep(max(0.0, due - (time.perf_counter() - started)))
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    landed = await rig.landing_times(started_wall)
    return [landed[message_id] - sent_at for sent_at, message_id in sent], elapsed, sent, landed


def segments(sent: list[tuple[float, str]], landed: dict[str, float],
              reads: dict[str, tuple[float, float]], latency: float) -> dict[str, list[float]]:
    """Each command split at its first Webex call, from the emulator's record of it: the
    webhook sent → the bot's GET /messages/{id} arrives (the receiver, the link, the event's
    start, its first store writes, the request), and that call answered → the reply landed,
    less the two round trips in between (the bot's work between and around two calls)."""
    before, after = [], []
    for sent_at, message_id in sent:
        if message_id in reads and message_id in landed:
            arrived, answered = reads[message_id]
            before.append(arrived - sent_at)
            after.append(landed[message_id] - answered - 2 * latency)
    return {"webhook_to_read_ms": before, "read_answered_to_landed_over_2l_ms": after}


async def arrivals(rig: Rig, latency: float, concurrency: int = IN_FLIGHT, commands: int = 200,
                   repeats: int = 3) -> dict[str, Any]:
    """Each pattern `repeats` times, pooled: reply latency, replies per second, and the
    acknowledgements of those same webhooks.

    Replies per second of a closed loop are taken over its steady state (every stream in
    flight: from the last stream's first send to the first stream's last reply), where the
    in-flight bound applies: each stream's replies in that window over the time between its
    first and last of them, summed over the streams. Over the whole run (first send → last
    reply, `replies_per_s_whole_run`) the ramp up and the drain count too."""
    floor = 3 * latency
    streams = list(range(1, concurrency + 1))
    per_stream = max(1, commands // concurrency)
    # The staggered loop's own load: `concurrency` in flight, one round ~3.3 L.
    rate = concurrency / (3.3 * latency)
    out: dict[str, Any] = {"floor_ms": floor * 1000, "concurrency": concurrency,
                           "commands": per_stream * concurrency,
                           "in_flight_bound_per_s": concurrency / floor,
                           "poisson_rate_per_s": rate}
    for pattern in PATTERNS:
        latencies: list[float] = []
        acks: list[float] = []
        whole: list[float] = []
        steady: list[float] = []
        gaps: list[float] = []
        parts: dict[str, list[float]] = {}
        steady_replies, steady_seconds = 0, 0.0
        cpu_before = rig.cpu_seconds()
        opened_before = rig.sender.opened_while_sending
        for round_ in range(repeats):
            before = len(rig.sender.acks)
            round_started = time.time()
            if pattern == "poisson":
                got, elapsed, sent, landed = await open_loop(rig, rate, per_stream * concurrency,
                                                             round_)
                whole.append(len(got) / elapsed)
            else:
                stagger = 3.3 * latency if pattern == "staggered" else 0.0
                loop = await closed_loop(rig, ["status"], streams, per_stream, stagger)
                got = loop.latencies["status"]
                whole.append(loop.per_second)
                gaps += loop.gaps
                if loop.steady_per_second is not None:
                    steady.append(loop.steady_per_second)
                steady_replies += loop.steady_replies
                steady_seconds += loop.steady_seconds
                sent, landed = loop.sent, loop.landed
            for name, values in segments(sent, landed, await rig.reads(round_started),
                                          latency).items():
                parts.setdefault(name, []).extend(values)
            latencies += got
            acks += rig.sender.acks[before:]
            await settle(rig, quiet=1.0)
        cpu_after = rig.cpu_seconds()
        result = summary(latencies, latency)
        # CPU per command (the rounds and their settling, idle time included: small).
        for side in ("worker", "receiver", "stand_in", "harness"):
            result[f"{side}_cpu_ms_per_command"] = (
                (cpu_after[side] - cpu_before[side]) * 1000 / len(latencies))
        result["p99_x_floor"] = percentile(latencies, 99) / floor
        result["replies_per_s"] = sum(steady) / len(steady) if steady else None
        result["replies_per_s_by_round"] = steady
        # The same window's replies over its length (short by up to a wave in the burst).
        result["replies_per_s_window_count"] = (steady_replies / steady_seconds
                                                if steady_seconds > 0 else None)
        result["steady_replies"] = steady_replies
        result["steady_seconds"] = steady_seconds
        result["replies_per_s_whole_run"] = sum(whole) / len(whole)
        if gaps:  # what is left of the harness in a closed loop's cycle
            result["landing_to_next_send_ms"] = {"p50": percentile(gaps, 50) * 1000,
                                                 "p99": percentile(gaps, 99) * 1000}
        for name, values in parts.items():
            result[name] = {"mean": sum(values) / len(values) * 1000 if values else None,
                            "p50": percentile(values, 50) * 1000,
                            "p90": percentile(values, 90) * 1000}
        result["ack_p50_ms"] = percentile(acks, 50) * 1000
        result["ack_p99_ms"] = percentile(acks, 99) * 1000
        result["connections_opened_while_sending"] = (rig.sender.opened_while_sending
                                                      - opened_before)
        out[pattern] = result
    return out


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """The table's rows for the arrivals scenario."""
    found: list[tuple[str, str, str, bool | None]] = []
    bound = r["in_flight_bound_per_s"]
    for pattern in PATTERNS:
        x = r[pattern]
        found.append((f"reply p99, {pattern}", f"{x['p99_ms']:.0f} ms ({x['p99_x_floor']:.2f} × "
                      f"floor; p50 {x['p50_ms']:.0f})", "≤ 1.3 × floor", x["p99_x_floor"] <= 1.3))
        if pattern != "poisson":  # an open loop's rate is the arrival rate it was given
            found.append((f"replies/s, {pattern} (steady state)", f"{x['replies_per_s']:.0f}/s "
                          f"({x['replies_per_s'] / bound:.2f} × bound; whole run "
                          f"{x['replies_per_s_whole_run']:.0f})",
                          f"≥ {0.95 * bound:.0f}/s", x["replies_per_s"] >= 0.95 * bound))
        found.append((f"ack p99, {pattern} (20 in flight)", f"{x['ack_p99_ms']:.1f} ms "
                      f"(p50 {x['ack_p50_ms']:.1f})", "≤ 5 ms", x["ack_p99_ms"] <= 5))
        found.append((f"CPU a command, {pattern}", f"worker {x['worker_cpu_ms_per_command']:.2f}"
                      f" ms, receiver {x['receiver_cpu_ms_per_command']:.2f} ms", "", None))
        found.append((f"  beside it, {pattern}", f"stand-in {x['stand_in_cpu_ms_per_command']:.2f}"
                      f" ms, harness {x['harness_cpu_ms_per_command']:.2f} ms", "", None))
        read, rest = x["webhook_to_read_ms"], x["read_answered_to_landed_over_2l_ms"]
        found.append((f"  where, {pattern} (mean / p90)",
                      f"to the read {read['mean']:.1f} / {read['p90']:.1f} ms, read → "
                      f"landed 2 L + {rest['mean']:.1f} / {rest['p90']:.1f} ms", "", None))
    return found
