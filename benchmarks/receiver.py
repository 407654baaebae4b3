"""python -m benchmarks.receiver: the receiving process's app alone, answering bursts.

    python -m benchmarks.receiver [--bursts 300] [--size 20] [--receivers 1] [--bare]
                                  [--worker-ms 0]

`serve`'s receiving process itself (bot/receiving/process.py run_front: the guard, the journal
on the loop with its maintenance, the link to the worker), on the bot's own event loop; the
link is read by another process that decodes every line, as the worker does. A raw-socket
client writes `size` signed webhooks at once on as many keep-alive connections, waits for every
answer, and repeats `bursts` times, so neither aiohttp's client nor a busy harness loop is in the
figures. Printed: CPU a webhook (the receiving processes' user + system time), the ack p50 /
p99, and the first and last answer of a burst.

`--bare`: an aiohttp app on uvloop whose handler reads the body and answers, the floor of one
aiohttp process here. `--receivers 2`: two such processes on one port (SO_REUSEPORT, each its own
journal), which the bot does not do: what a second process would buy. `--worker-ms`: the
link's reader spends that much CPU on each event, as the worker's first steps do, so that the
receiver shares the cores with a worker that works.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import multiprocessing
import os
import selectors
import socket
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from pathlib import Path

from benchmarks.client import envelope, percentile
from benchmarks.procs import SECRET
from benchmarks.sender import Sender


def _listener(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    return sock


def _worker_end(listener: socket.socket, work_ms: float = 0.0) -> None:
    """The worker's end of the link: accepts the receiving process and decodes each line, as
    the worker does, then spends `work_ms` of CPU on each event, as the worker's first steps
    do (and dies with its parent)."""
    import asyncio

    import uvloop

    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG: SIGKILL

    class Reader(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            for line in data.split(b"\n"):
                if line and "key" in json.loads(line):
                    until = time.thread_time() + work_ms / 1000
                    while time.thread_time() < until:
                        pass

    async def main() -> None:
        server = await asyncio.get_running_loop().create_unix_server(Reader, sock=listener)
        await server.serve_forever()

    uvloop.run(main())


def _receiver(ready: Queue[int], workdir: str, index: int, port: int, bare: bool,
              work_ms: float = 0.0) -> None:
    """`serve`'s receiving process itself (run_front), or a bare aiohttp app."""
    ctypes.CDLL(None).prctl(1, 9)
    listener = _listener(port)
    if bare:
        _bare(ready, listener)
        return
    from bot.aio import run_loop
    from bot.receiving.process import FrontSpec, run_front
    from bot.settings import Settings

    events = os.path.join(workdir, f"events-{index}.sock")
    link = socket.socket(socket.AF_UNIX)
    link.bind(events)
    link.listen(1)
    multiprocessing.Process(target=_worker_end, args=(link, work_ms), daemon=True).start()
    spec = FrontSpec(listener.fileno(), os.path.join(workdir, f"journal-{index}.db"), events,
                     os.path.join(workdir, f"http-{index}.sock"), "BOT", "bench", 30.0)
    ready.put(port)  # it listens already: connections wait in the backlog
    run_loop(run_front(Settings(_env_file=None, WEBEX_WEBHOOK_SECRET=SECRET), spec))


def _bare(ready: Queue[int], listener: socket.socket) -> None:
    import asyncio

    import uvloop
    from aiohttp import web

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"status": "accepted"})

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/webhooks/webex", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, listener).start()
        ready.put(listener.getsockname()[1])
        await asyncio.Event().wait()

    uvloop.run(main())


def _requests(count: int, port: int) -> list[bytes]:
    """Signed webhooks for `count` distinct messages, built before anything is timed."""
    sender = Sender(f"http://127.0.0.1:{port}/webhooks/webex", SECRET.encode())
    seed = {"orgId": "O" * 80, "bot": {"id": "B" * 80}}
    now = datetime.now(UTC).isoformat()
    return [sender.request(envelope(seed, {
        "id": f"Y2lzY29zcGFyazovL3VzL01FU1NBR0UvNW{i:030d}", "roomId": "R" * 80,
        "roomType": "group", "personId": "P" * 80, "personEmail": "admin001@acme.example",
        "created": now})) for i in range(count)]


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run(bursts: int, size: int, receivers: int, bare: bool, work_ms: float = 0.0
        ) -> dict[str, float]:
    ready: Queue[int] = multiprocessing.Queue()
    workdir = tempfile.mkdtemp()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    procs = []
    for r in range(receivers):
        proc = multiprocessing.Process(target=_receiver, args=(ready, workdir, r, port, bare,
                                                                  work_ms))
        proc.start()
        ready.get(timeout=30)
        procs.append(proc)
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(size)]
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    requests = _requests(size * bursts, port)
    cpu_before = _cpu([p.pid for p in procs if p.pid is not None])
    acks: list[float] = []
    first: list[float] = []
    last: list[float] = []
    for b in range(bursts):
        sent: dict[socket.socket, float] = {}
        for sock, request in zip(socks, requests[b * size:(b + 1) * size], strict=True):
            sent[sock] = time.perf_counter()
            sock.sendall(request)
        got: dict[socket.socket, float] = {}
        while len(got) < size:
            for key, _ in selector.select(10):
                sock = key.fileobj  # type: ignore[assignment]
                data = sock.recv(65536)
                if not data.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(f"not a 200: {data[:200]!r}")
                got.setdefault(sock, time.perf_counter() - sent[sock])
        ordered = sorted(got.values())
        acks += ordered
        first.append(ordered[0])
        last.append(ordered[-1])
        time.sleep(0.01)
    cpu_after = _cpu([p.pid for p in procs if p.pid is not None])
    for proc in procs:
        proc.kill()
    return {"cpu_ms_per_webhook": (cpu_after - cpu_before) * 1000 / (size * bursts),
            "ack_p50_ms": percentile(acks, 50) * 1000, "ack_p99_ms": percentile(acks, 99) * 1000,
            "first_p50_ms": percentile(first, 50) * 1000,
            "last_p50_ms": percentile(last, 50) * 1000, "last_p95_ms": percentile(last, 95) * 1000}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.receiver", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bursts", type=int, default=300)
    parser.add_argument("--size", type=int, default=20, help="webhooks written at once")
    parser.add_argument("--receivers", type=int, default=1)
    parser.add_argument("--bare", action="store_true", help="a bare aiohttp app instead")
    parser.add_argument("--worker-ms", type=float, default=0.0,
                        help="CPU the link's reader spends on each event (the worker's share)")
    args = parser.parse_args(argv)
    found = run(args.bursts, args.size, args.receivers, args.bare, args.worker_ms)
    print("  ".join(f"{name} {value:.3f}" for name, value in found.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
