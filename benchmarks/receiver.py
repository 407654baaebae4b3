"""python -m benchmarks.receiver: the receiving process's app alone, answering bursts.

    python -m benchmarks.receiver [--bursts 300] [--size 20] [--receivers 1] [--bare]

The app `serve`'s receiving process runs (bot/receiving/process.py: the guard, the journal on
the loop with its maintenance, the link to the worker), in a process of its own on uvloop; the
link is read by another process that decodes every line, as the worker does. A raw-socket
client writes `size` signed webhooks at once on as many keep-alive connections, waits for every
answer, and repeats `bursts` times, so neither aiohttp's client nor a busy harness loop is in the
figures. Printed: CPU a webhook (the receiving processes' user + system time), the ack p50 /
p99, and the first and last answer of a burst.

`--bare`: an aiohttp app on uvloop whose handler reads the body and answers, the floor of one
aiohttp process here. `--receivers 2`: two such processes on one port (SO_REUSEPORT, each its own
journal), which the bot does not do: what a second process would buy.
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
import types
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

from benchmarks.client import envelope, percentile
from bot.security import sign

SECRET = b"load-webhook-secret-0123456789abcdef"  # a fixture, not a secret


def _listener(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    return sock


def _worker_end(sock: socket.socket) -> None:
    """Reads the link and decodes each line, as the worker's end does (and dies with its
    parent)."""
    import asyncio

    import uvloop

    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG: SIGKILL

    class Reader(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            for line in data.split(b"\n"):
                if line:
                    json.loads(line)

    async def main() -> None:
        await asyncio.get_running_loop().connect_accepted_socket(Reader, sock)
        await asyncio.Event().wait()

    uvloop.run(main())


def _receiver(ready: Queue[int], journal_path: str, port: int, bare: bool) -> None:
    import asyncio

    import uvloop
    from aiohttp import web

    from bot.clock import utcnow
    from bot.receiving.guard import GUARD, PARSER_LIMITS, GuardedSite, guard_for
    from bot.receiving.intake import INTAKE, Intake
    from bot.receiving.journal import IntakeJournal
    from bot.receiving.process import WorkerLink, _maintain
    from bot.receiving.spool import Spool
    from bot.receiving.webhook import public_app

    async def bare_app() -> web.AppRunner:
        async def answer(request: web.Request) -> web.Response:
            await request.read()
            return web.json_response({"status": "accepted"})

        app = web.Application()
        app.router.add_post("/webhooks/webex", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, _listener(port)).start()
        return runner

    async def receiving_app() -> web.AppRunner:
        ours, theirs = socket.socketpair()
        multiprocessing.Process(target=_worker_end, args=(theirs,), daemon=True).start()
        _, writer = await asyncio.open_unix_connection(sock=ours)
        link = WorkerLink(writer, journaled=True)
        journal = IntakeJournal(journal_path)
        asyncio.get_running_loop().create_task(
            _maintain(journal, types.SimpleNamespace(INBOX_RETENTION_HOURS=24)))  # type: ignore[arg-type]

        async def record(*received: Any) -> bool:
            return journal.record(*received)

        app = public_app()
        guard = guard_for(1000, 0)
        app[GUARD] = guard
        app[INTAKE] = Intake(secret=SECRET, bot_id="BOT", record=record, clock=utcnow,
                             accept=link.accept, count=link.count,
                             signature_failed=link.signature_failed,
                             max_age=timedelta(hours=1), spool=Spool(None, link.recording),
                             record_waits=False)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, **PARSER_LIMITS)
        await runner.setup()
        listener = _listener(port)
        await GuardedSite(runner, listener, guard).start()
        return runner

    async def main() -> None:
        await (bare_app() if bare else receiving_app())
        ready.put(port)
        await asyncio.Event().wait()

    ctypes.CDLL(None).prctl(1, 9)
    uvloop.run(main())


def _request(i: int, port: int) -> bytes:
    seed = {"orgId": "O" * 80, "bot": {"id": "B" * 80}}
    message = {"id": f"Y2lzY29zcGFyazovL3VzL01FU1NBR0UvNW{i:030d}", "roomId": "R" * 80,
               "roomType": "group", "personId": "P" * 80, "personEmail": "admin001@acme.example",
               "created": datetime.now(UTC).isoformat()}
    body = envelope(seed, message)
    head = (f"POST /webhooks/webex HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nX-Spark-Signature: {sign(SECRET, body)}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run(bursts: int, size: int, receivers: int, bare: bool) -> dict[str, float]:
    ready: Queue[int] = multiprocessing.Queue()
    workdir = tempfile.mkdtemp()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    procs = []
    for r in range(receivers):
        proc = multiprocessing.Process(target=_receiver, args=(
            ready, os.path.join(workdir, f"journal-{r}.db"), port, bare))
        proc.start()
        ready.get(timeout=30)
        procs.append(proc)
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(size)]
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    requests = [_request(i, port) for i in range(size * bursts)]
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
    args = parser.parse_args(argv)
    found = run(args.bursts, args.size, args.receivers, args.bare)
    print("  ".join(f"{name} {value:.3f}" for name, value in found.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
