"""The measured scenarios; each returns plain numbers for the table and the JSON."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp

from benchmarks.client import Landings, create_message, endpoint_of, envelope, percentile
from benchmarks.procs import ROOT, BotProcess, EmulatorProcess
from benchmarks.seed import admin_name, space_name
from benchmarks.sender import Sender
from bot.security import sign


@dataclass
class Rig:
    emu: EmulatorProcess
    bot: BotProcess
    landings: Landings
    http: aiohttp.ClientSession
    sender: Sender
    admins: int
    # The stand-in's CPU spent answering the harness's own control calls (messages made before
    # a round, its record read after it), which the stand-in's CPU a command leaves out.
    control_cpu: float = 0.0

    def cpu_seconds(self) -> dict[str, float]:
        """CPU used so far: the bot's two processes, the stand-in on the bot's calls (its
        control calls left out) and the harness (this process)."""
        return {**self.bot.cpu_seconds(), "stand_in": self.emu.cpu_seconds() - self.control_cpu,
                "harness": time.process_time()}

    @property
    def seed(self) -> dict[str, Any]:
        return self.emu.seed

    async def message(self, i: int, text: str) -> dict[str, Any]:
        n = i % self.admins
        return await create_message(self.http, self.emu.control, admin_name(n), space_name(n),
                                    text)

    async def messages(self, typed: list[tuple[int, str]], at_once: int = 8
                       ) -> list[dict[str, Any]]:
        """Person i types text, for each (i, text), in order: made before a round starts, so
        that no cycle of a round waits for the emulator's control API."""
        slots = asyncio.Semaphore(at_once)

        async def one(i: int, text: str) -> dict[str, Any]:
            async with slots:
                return await self.message(i, text)

        before = self.emu.cpu_seconds()
        made = list(await asyncio.gather(*(one(i, text) for i, text in typed)))
        self.control_cpu += self.emu.cpu_seconds() - before
        return made

    def request(self, message: dict[str, Any]) -> bytes:
        """The signed webhook for `message`, as the bytes the sender writes."""
        return self.sender.request(envelope(self.seed, message))

    async def command(self, message: dict[str, Any], request: bytes | None = None
                      ) -> tuple[float, str]:
        """One command, waited for until its reply lands: returns (webhook sent at, its id)."""
        waiter = self.landings.expect(message["id"])
        status, sent_at, _ = await self.sender.post(request=request or self.request(message))
        assert status == 200, status
        await asyncio.wait_for(waiter, 60)
        return sent_at, message["id"]

    async def landing_times(self, since: float) -> dict[str, float]:
        """When each bot reply landed in the emulator, by the command (parent) it answers."""
        items = await self._recorded("POST", "/messages", since)
        bot_id = self.seed["bot"]["id"]
        replies = [(r["json"].get("parentId"), r["at"]) for r in items
                   if r["person_id"] == bot_id and r["at"] >= since and r["status"] == 200
                   and r["json"]]
        # A command answered twice is a defect, not a figure: the run stops and says so.
        twice = [parent for parent, n in Counter(p for p, _ in replies).items() if n > 1]
        if twice:
            raise AssertionError(f"the bot answered {len(twice)} commands twice: {twice[:3]}")
        return dict(replies)

    async def reads(self, since: float) -> dict[str, tuple[float, float]]:
        """The bot's first call for each command, GET /messages/{id}: when it arrived at the
        emulator and when it was answered, by the message's id."""
        items = await self._recorded("GET", "/messages/*", since)
        prefix = "/messages/"
        return {r["path"][len(prefix):]: (r["arrived"], r["at"]) for r in items
                if r["at"] >= since and r["status"] == 200}

    async def _recorded(self, method: str, path: str, since: float) -> list[dict[str, Any]]:
        """The emulator's record of these calls answered since `since` (its CPU for this is
        kept out of the stand-in's CPU a command)."""
        before = self.emu.cpu_seconds()
        async with self.http.get(f"{self.emu.control}/requests", params={
                "method": method, "path": path, "since": str(since)}) as reply:
            items: list[dict[str, Any]] = (await reply.json())["items"]
        self.control_cpu += self.emu.cpu_seconds() - before
        return items

    async def calls_since(self, since: float) -> Counter[str]:
        async with self.http.get(f"{self.emu.control}/requests") as reply:
            items = (await reply.json())["items"]
        machine = {self.seed["bot"]["id"], self.seed["adminIdentityId"]}
        return Counter(endpoint_of(r["method"], r["path"]) for r in items
                       if r["at"] >= since and r["person_id"] in machine)

    async def gauges(self) -> dict[str, float]:
        async with self.http.get(f"{self.bot.ops_url}/metrics") as reply:
            text = await reply.text()
        found = {}
        for line in text.splitlines():
            for name in ("ecn_bot_events_in_flight", "ecn_bot_events_queued"):
                if line.startswith(name + " "):
                    found[name] = float(line.split()[1])
        return found


@dataclass
class Loop:
    """What a closed loop measured."""

    latencies: dict[str, list[float]]  # webhook sent → reply landed, by command word
    count: int
    elapsed: float  # first send → last reply: the ramp up and the drain included
    steady_replies: int  # replies that landed while every stream had a command in flight
    steady_seconds: float  # last stream's first send → first stream's last reply
    steady_per_second: float | None  # the streams' reply rates in that window, summed
    gaps: list[float]  # a reply landed (the emulator's clock) → its stream's next webhook sent
    sent: list[tuple[float, str]]  # (webhook sent at, message id), every command
    landed: dict[str, float]  # message id → when its reply landed

    @property
    def per_second(self) -> float:
        return self.count / self.elapsed


async def closed_loop(rig: Rig, texts: list[str], streams: list[int], per_stream: int,
                      stagger: float = 0.0) -> Loop:
    """`len(streams)` people each send `per_stream` commands one after another (stream k
    sends texts[k % len(texts)]), each when the previous one's reply has landed.

    Every message and its signed webhook are made before the round, and the connections
    opened, so a cycle is: webhook sent → reply landed → next webhook sent.

    `stagger`: the streams' first commands are spread over that many seconds, as people in
    different spaces do not type in step; started together, they would stay in step, every
    command of a round arriving in the same instant."""
    counter = itertools.count()
    typed = [(person, texts[k % len(texts)].format(n=next(counter), uid=uuid.uuid4().hex[:8]))
             for k, person in enumerate(streams) for _ in range(per_stream)]
    made = await rig.messages(typed)
    plans = [[(text.split()[0], m, rig.request(m))
              for (_, text), m in zip(typed[k * per_stream:(k + 1) * per_stream],
                                      made[k * per_stream:(k + 1) * per_stream], strict=True)]
             for k in range(len(streams))]
    await rig.sender.open(len(streams))
    started_wall = time.time()
    started = time.perf_counter()
    sent: list[list[tuple[str, float, str]]] = [[] for _ in streams]

    async def stream(k: int) -> None:
        await asyncio.sleep(stagger * k / len(streams))
        for word, message, request in plans[k]:
            sent_at, message_id = await rig.command(message, request)
            sent[k].append((word, sent_at, message_id))

    await asyncio.gather(*(stream(k) for k in range(len(streams))))
    elapsed = time.perf_counter() - started
    landed = await rig.landing_times(started_wall)
    latencies: dict[str, list[float]] = {}
    for word, sent_at, message_id in (x for one in sent for x in one):
        latencies.setdefault(word, []).append(landed[message_id] - sent_at)
    # The steady state: from the moment the last stream has sent its first command to the
    # moment the first stream's last reply landed, all of them are in flight.
    begin = max(one[0][1] for one in sent)
    end = min(landed[one[-1][2]] for one in sent)
    inside = [[t for t in (landed[message_id] for _, _, message_id in one) if begin <= t <= end]
              for one in sent]
    # Each stream's rate from its first to its last reply in the window, summed. Counting the
    # window's replies over its length instead comes out short when the streams are in step
    # (the burst): the window closes on the first reply of the last wave, the other 19 land
    # just after it, and 10 commands a stream give 0.9 of the rate.
    rates = [(len(t) - 1) / (t[-1] - t[0]) for t in inside if len(t) >= 2 and t[-1] > t[0]]
    gaps = [after[1] - landed[before[2]] for one in sent
            for before, after in itertools.pairwise(one)]
    return Loop(latencies, sum(len(one) for one in sent), elapsed,
                sum(len(t) for t in inside), max(0.0, end - begin),
                sum(rates) if len(rates) == len(sent) else None, gaps,
                [(sent_at, message_id) for one in sent for _, sent_at, message_id in one], landed)


def summary(values: list[float], latency: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(values), "p50_ms": percentile(values, 50) * 1000,
                           "p99_ms": percentile(values, 99) * 1000,
                           "max_ms": max(values) * 1000 if values else float("nan")}
    if latency:
        out["p50_x_latency"] = percentile(values, 50) / latency
        out["p99_x_latency"] = percentile(values, 99) / latency
    return out


async def settle(rig: Rig, quiet: float = 2.0, timeout: float = 120) -> None:
    """Between scenarios: nothing queued or running in the bot, then `quiet` seconds, so one
    scenario's aftermath (its last replies, checkpoints of the files it grew) is not timed in
    the next."""
    deadline = time.monotonic() + timeout
    while sum((await rig.gauges()).values()) > 0:
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not become idle")
        await asyncio.sleep(0.1)
    await asyncio.sleep(quiet)


async def warm_up(rig: Rig) -> None:
    """One command so the bot has its role names and organization name. Then the bot idle: the
    landing feed tells of a reply as the emulator creates it, a moment before the emulator
    records the call, so a scenario starting at once could count that call as its own."""
    await rig.command(await rig.message(0, "status"))
    await settle(rig, quiet=0.5)


async def ack_under_load(rig: Rig, in_flight: int = 200, probes: int = 1000,
                         repeats: int = 3) -> dict[str, Any]:
    """`repeats` rounds of _ack_round, their acknowledgements pooled (each round's p99 kept)."""
    rounds = []
    for _ in range(repeats):
        rounds.append(await _ack_round(rig, in_flight, probes))
        await settle(rig)
    steady = [a for r in rounds for a in r.pop("_steady_acks")]
    burst = [a for r in rounds for a in r.pop("_burst_acks")]
    statuses: Counter[int] = Counter()
    for r in rounds:
        statuses.update(r.pop("statuses"))
    return {
        "in_flight_target": in_flight, "probe_interval_s": rounds[0]["probe_interval_s"],
        "steady": summary(steady), "burst": summary(burst), "rounds": rounds,
        "statuses": dict(statuses),
    }


async def _ack_round(rig: Rig, in_flight: int, probes: int, interval: float = 0.01
                     ) -> dict[str, Any]:
    """Acknowledgements with `in_flight` events in flight. First a burst: that many posted in
    the same instant. Then steady: the harness keeps `in_flight` commands unanswered (a new one
    as each reply lands) while a probe process of its own posts `probes` more, one every
    `interval` seconds, timing each answer."""
    # The bot takes at most 256 connections from one peer: the rig's own are not needed here.
    await rig.sender.close()
    burst_messages = await rig.messages([(i, "status") for i in range(in_flight)])
    burst_requests = [rig.request(m) for m in burst_messages]
    for m in burst_messages:
        rig.landings.expect(m["id"])
    burst_sender = Sender(rig.sender.url, rig.sender.secret)
    await burst_sender.open(in_flight)
    await asyncio.gather(*(burst_sender.post(request=r) for r in burst_requests))
    await _all_answered(rig, burst_messages)
    await burst_sender.close()

    # Enough commands to keep `in_flight` going while the probes run, at ~300/s.
    pool = await rig.messages([(i, "status")
                               for i in range(in_flight + int(probes * interval * 300))])
    requests = {m["id"]: rig.request(m) for m in pool}
    probe_messages = await rig.messages([(i, "status") for i in range(probes)])
    loop_sender = Sender(rig.sender.url, rig.sender.secret)
    await loop_sender.open(in_flight)
    stop = asyncio.Event()
    slots = asyncio.Semaphore(in_flight)
    outstanding = 0
    samples: list[int] = []
    full = asyncio.Event()

    async def one(message: dict[str, Any]) -> None:
        nonlocal outstanding
        waiter = rig.landings.expect(message["id"])
        outstanding += 1
        if outstanding >= in_flight:
            full.set()
        await loop_sender.post(request=requests[message["id"]])
        await asyncio.wait_for(waiter, 120)
        outstanding -= 1
        slots.release()

    async def keep_in_flight() -> list[dict[str, Any]]:
        sent, tasks = [], []
        for message in pool:
            await slots.acquire()
            if stop.is_set():
                break
            sent.append(message)
            tasks.append(asyncio.create_task(one(message)))
        await asyncio.gather(*tasks)
        return sent

    async def sample() -> None:
        while not stop.is_set():
            samples.append(outstanding)
            await asyncio.sleep(interval)

    feeder = asyncio.create_task(keep_in_flight())
    await full.wait()
    sampler = asyncio.create_task(sample())
    for m in probe_messages:
        rig.landings.expect(m["id"])
    job = {"url": rig.sender.url, "interval": interval,
           "bodies": [[body.decode(), sign(rig.sender.secret, body)]
                      for body in (envelope(rig.seed, m) for m in probe_messages)]}
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(job, file)
        file.flush()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.probe", file.name, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE)
        out, _ = await process.communicate()
    probe = json.loads(out)
    stop.set()
    slots.release()
    sent = await feeder
    await sampler
    await _all_answered(rig, sent + probe_messages)
    await loop_sender.close()
    ordered = sorted(samples)
    return {
        "burst": summary(burst_sender.acks),
        "steady": summary(probe["acks"]),
        "_burst_acks": burst_sender.acks,
        "_steady_acks": probe["acks"],
        "steady_harness_sender": summary(loop_sender.acks),
        "steady_in_flight_median": ordered[len(ordered) // 2] if ordered else 0,
        "steady_in_flight_min": ordered[0] if ordered else 0,
        "probe_interval_s": interval,
        "connections_opened_while_sending": (burst_sender.opened_while_sending
                                             + loop_sender.opened_while_sending),
        "statuses": dict(Counter(burst_sender.statuses) + Counter(loop_sender.statuses)
                         + Counter({int(k): v for k, v in probe["statuses"].items()})),
    }


async def _all_answered(rig: Rig, messages: list[dict[str, Any]], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while any(m["id"] not in rig.landings.replies for m in messages):
        if time.monotonic() > deadline:
            raise TimeoutError("not every event was answered")
        await asyncio.sleep(0.05)


async def e2e(rig: Rig, latency: float, concurrency: int = 20, per_stream: int = 15,
              repeats: int = 3) -> dict[str, Any]:
    """Webhook → reply landing, with `concurrency` commands in flight from different people;
    `repeats` rounds, their samples pooled (each round's p50 is kept to show the spread)."""
    streams = list(range(1, concurrency + 1))
    # One round of the loop takes ~3.3 L: spread the 20 first commands over one round.
    stagger = 3.3 * latency
    pooled: dict[str, list[float]] = {"status": [], "enable": [], "status_in_mixed": []}
    rounds: list[dict[str, float]] = []
    status_calls: Counter[str] = Counter()
    n_status = 0
    for _ in range(repeats):
        since = time.time()
        loop = await closed_loop(rig, ["status"], streams, per_stream, stagger)
        status = loop.latencies
        status_calls += await rig.calls_since(since)
        n_status += loop.count
        # One enable stream among status streams: every enable waits for nothing but Webex.
        mixed = (await closed_loop(rig, ["enable e2e-{uid}@acme.example"] + ["status"] *
                                   (concurrency - 1), streams, per_stream, stagger)).latencies
        pooled["status"] += status["status"]
        pooled["enable"] += mixed["enable"]
        pooled["status_in_mixed"] += mixed["status"]
        rounds.append({"status_p50_x_latency": percentile(status["status"], 50) / latency,
                       "enable_p50_x_latency": percentile(mixed["enable"], 50) / latency})
        await settle(rig)
    return {
        "concurrency": concurrency,
        "status": summary(pooled["status"], latency),
        "enable": summary(pooled["enable"], latency),
        "status_in_mixed": summary(pooled["status_in_mixed"], latency),
        "rounds": rounds,
        "calls_per_status": {k: round(v / n_status, 3) for k, v in sorted(status_calls.items())},
    }


async def status_throughput(rig: Rig, concurrency: int, seconds: float) -> dict[str, Any]:
    """`status` sustained: closed loop at `concurrency`, for about `seconds`."""
    per_stream = 1
    # A calibration pass gives the per-stream count that fills `seconds`.
    rate = (await closed_loop(rig, ["status"], list(range(concurrency)), 2)).per_second
    per_stream = max(2, round(rate * seconds / concurrency))
    loop = await closed_loop(rig, ["status"], list(range(concurrency)), per_stream)
    return {"concurrency": concurrency, "commands": loop.count, "seconds": loop.elapsed,
            "per_second": loop.per_second, "steady_per_second": loop.steady_per_second,
            "latency": summary(loop.latencies["status"])}


async def enable_throughput(rig: Rig, latency: float, concurrency: int = 20,
                            per_stream: int = 6) -> dict[str, Any]:
    """`enable <email>` for one organization, `concurrency` at once: serialized by the org lock."""
    since = time.time()
    loop = await closed_loop(
        rig, ["enable t{n}@acme.example"], list(range(concurrency)), per_stream)
    lat, elapsed, count = loop.latencies, loop.elapsed, loop.count
    calls = await rig.calls_since(since)
    bound = 1 / (2 * latency) if latency else float("inf")
    return {"concurrency": concurrency, "commands": count, "seconds": elapsed,
            "per_second": count / elapsed, "bound_1_over_2L": bound,
            "ratio_to_bound": (count / elapsed) / bound, "latency": summary(lat["enable"]),
            "calls_per_enable": {k: round(v / count, 3) for k, v in sorted(calls.items())}}


async def memory(rig: Rig, events: int, concurrency: int = 32) -> dict[str, Any]:
    """RSS across `events` webhooks: mostly cheap (ignored, own, duplicate), 2% real commands."""
    since = time.time()
    seed = rig.seed
    bot_id = seed["bot"]["id"]
    done_messages: list[dict[str, Any]] = []
    samples: list[tuple[int, int]] = [(0, rig.bot.status()["Pss"])]
    own_ids: list[str] = []
    # The real commands' messages are made before the run, as in the other scenarios: made
    # inside it, each one's round trip to the emulator's control API held a sender.
    real_at = range(0, events, 50)
    made = dict(zip(real_at, await rig.messages([(i, "help" if i % 100 else "status")
                                                 for i in real_at]), strict=True))
    sender = Sender(rig.sender.url, rig.sender.secret)
    await sender.open(concurrency)
    real = 0

    def body_for(i: int) -> bytes:
        nonlocal real
        slot = i % 50
        if slot == 0:
            real += 1
            message = made[i]
            done_messages.append(message)
            return envelope(seed, message)
        if slot < 21:  # 40 %: an event the bot does not handle
            fake = {"id": uuid.uuid4().hex, "roomId": "r", "personId": "p",
                    "created": "2026-11-27T10:00:00.000Z"}
            return envelope(seed, fake).replace(b'"resource": "messages"',
                                                  b'"resource": "rooms"')
        if slot < 36:  # 30 %: the bot's own message
            own = {"id": f"own-{uuid.uuid4().hex}", "roomId": "r", "personId": bot_id,
                   "created": "2026-11-27T10:00:00.000Z"}
            own_ids.append(own["id"])
            return envelope(seed, own)
        if done_messages:  # 28 %: a redelivery of a real event
            return envelope(seed, done_messages[i % len(done_messages)])
        fake = {"id": uuid.uuid4().hex, "roomId": "r", "personId": bot_id,
                "created": "2026-11-27T10:00:00.000Z"}
        return envelope(seed, fake)

    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(events):
        queue.put_nowait(i)
    step = max(events // 10, 1)

    async def worker() -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await sender.post(body_for(i))
            if (i + 1) % step == 0:
                samples.append((i + 1, rig.bot.status()["Pss"]))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    deadline = time.monotonic() + 120
    while any(m["id"] not in rig.landings.replies for m in done_messages):
        if time.monotonic() > deadline:
            raise TimeoutError("real events were not all answered")
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    final = rig.bot.status()
    calls = await rig.calls_since(since)
    own_fetched = 0
    async with rig.http.get(f"{rig.emu.control}/requests",
                            params={"method": "GET", "path": "/messages/*"}) as reply:
        for r in (await reply.json())["items"]:
            own_fetched += r["path"].rsplit("/", 1)[-1] in set(own_ids)
    samples.sort()
    tail = [kb for n, kb in samples if n >= events // 5]
    return {
        "events": events, "real_commands": real, "seconds": elapsed,
        "events_per_second": events / elapsed,
        "pss_mb_samples": [(n, round(kb / 1024, 1)) for n, kb in samples],
        "pss_mb_after": round(final["Pss"] / 1024, 1),
        "rss_mb_after": round(final["VmRSS"] / 1024, 1),
        "worker_rss_mb_after": round(final["worker_VmRSS"] / 1024, 1),
        "peak_rss_mb": round(final["VmHWM"] / 1024, 1),
        "pss_growth_mb_last_80pct": round((max(tail) - min(tail)) / 1024, 1) if tail else None,
        "statuses": dict(sender.statuses),
        "own_events_fetched": own_fetched,
        "calls": dict(sorted(calls.items())),
    }


def dumps(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, sort_keys=True)
