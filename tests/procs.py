"""`python -m bot …` as real processes against an emulator served by the test's own loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import os
import resource
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.emulator import Emulator
from bot.emulator.pipeline import PREFIX
from bot.emulator.server import make_app
from bot.security import sign
from tests.e2e.harness import SECRET

ROOT = Path(__file__).resolve().parents[1]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class HoldAfterApply:
    """While `seconds` is set, Webex applies a `method` request to `path` (without /v1) and
    then holds its answer back: the emulator's own faults and latencies all act before the
    operation, so this one is a middleware of the test's."""

    method: str
    path: str
    seconds: float = 0.0
    applied: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.asynccontextmanager
async def emulator_holding(hold: HoldAfterApply) -> AsyncIterator[Emulator]:
    """An emulator on a real socket whose answers `hold` may hold back."""
    emulator = Emulator()

    @web.middleware
    async def hold_answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if hold.seconds and request.method == hold.method and request.path == PREFIX + hold.path:
            hold.applied.set()
            await emulator.pipeline.sleep(hold.seconds)
        return response

    app = make_app(emulator)
    app.middlewares.append(hold_answer)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        emulator.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}{PREFIX}"
        yield emulator
    finally:
        await emulator.close()
        await runner.cleanup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bot_env(emu: Emulator, **extra: str) -> dict[str, str]:
    """The environment of a bot process pointed at `emu` (nothing inherited but the basics)."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")}
    env.update(
        WEBEX_BOT_TOKEN=emu.seed.bot_token,
        WEBEX_ADMIN_TOKEN=emu.seed.admin_token,
        WEBEX_WEBHOOK_SECRET=SECRET,
        WEBEX_API_URL=emu.base_url,
        WEBEX_TIMEOUT_SECONDS="5",
        COMMAND_BURST="1000",  # tests about the limit set their own
        COMMAND_RATE_PER_MINUTE="1000",
        LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


async def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@dataclass
class BotProcess:
    """One `python -m bot serve`; its output goes to `log`."""

    process: asyncio.subprocess.Process
    port: int
    log: Path
    ops_port: int = 0
    copying: asyncio.Task[None] | None = None  # its output, when piped (start_serve)

    @property
    def ops_url(self) -> str:
        """/readyz and /metrics (OPS_HOST:OPS_PORT)."""
        return f"http://127.0.0.1:{self.ops_port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhooks/webex"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self, timeout: float = 15.0) -> None:
        if self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(self.process.wait(), timeout)
        assert status == 0, self.output()

    async def busy(self) -> float:
        """Events queued or running, from the process's /metrics."""
        async with aiohttp.ClientSession() as http, http.get(f"{self.ops_url}/metrics") as reply:
            text = await reply.text()
        return sum(
            float(line.split()[-1])
            for line in text.splitlines()
            if line.startswith(("ecn_bot_events_in_flight ", "ecn_bot_events_queued "))
        )

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Nothing queued or running in the process, by its /metrics."""
        deadline = asyncio.get_running_loop().time() + timeout
        while await self.busy():
            assert asyncio.get_running_loop().time() < deadline, self.output()
            await asyncio.sleep(0.05)

    def children(self) -> set[int]:
        """Its live child processes (the receiving process, unless RECEIVER_PROCESS=false)."""
        found: set[int] = set()
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            try:
                found.update(int(c) for c in (task / "children").read_text().split())
            except FileNotFoundError:
                continue  # the thread ended meanwhile
        return {c for c in found if alive(c)}


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet is gone: it holds no port and runs nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


Serve = Callable[..., Awaitable[BotProcess]]


@contextlib.asynccontextmanager
async def restartable_serve(emu: Emulator, tmp_path: Path, database_url: str
                            ) -> AsyncIterator[Serve]:
    """`start(**env)` starts `serve` on one port and one database, as often as a test restarts
    it (short lease and grace, so that restarts resume quickly); what is left is killed."""
    port = free_port()
    started: list[BotProcess] = []

    async def start(**env: str) -> BotProcess:
        env = {"INBOX_LEASE_SECONDS": "1", "SHUTDOWN_GRACE_SECONDS": "1", **env}
        bot = await start_serve(
            emu, tmp_path, port=port, log=tmp_path / "bot.log", DATABASE_URL=database_url,
            PUBLIC_URL=f"http://127.0.0.1:{port}", **env,
        )
        started.append(bot)
        return bot

    try:
        yield start
    finally:
        for bot in started:
            if bot.process.returncode is None:
                await bot.kill()  # the receiving process dies with it


async def start_serve(
    emu: Emulator, cwd: Path, *, port: int | None = None, log: Path | None = None,
    nofile: int | None = None, piped: bool = False, **env: str
) -> BotProcess:
    """Start `python -m bot serve` and return once /healthz answers 200 (`nofile`: its file
    descriptor limit, soft and hard; `piped`: its output reaches `log` through a pipe and this
    process, so a file size limit put on it does not stop its log)."""
    port = port or free_port()
    log = log or cwd / f"bot-{port}.log"
    ops_port = int(env.pop("OPS_PORT", 0)) or free_port()
    full_env = bot_env(emu, HOST="127.0.0.1", PORT=str(port), OPS_PORT=str(ops_port), **env)
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", cwd=cwd, env=full_env,
            stdout=asyncio.subprocess.PIPE if piped else out,
            stderr=asyncio.subprocess.STDOUT if piped else out,
            preexec_fn=None if nofile is None else functools.partial(
                resource.setrlimit, resource.RLIMIT_NOFILE, (nofile, nofile)),
        )
    bot = BotProcess(process, port, log, ops_port)
    if piped:
        assert process.stdout is not None
        bot.copying = asyncio.create_task(_copy(process.stdout, log))
    deadline = asyncio.get_running_loop().time() + 20
    async with aiohttp.ClientSession() as http:
        while True:
            assert process.returncode is None, bot.output()
            try:
                async with http.get(f"{bot.url}/healthz") as reply:
                    if reply.status == 200:
                        return bot
            except aiohttp.ClientError:
                pass
            assert asyncio.get_running_loop().time() < deadline, bot.output()
            await asyncio.sleep(0.05)


async def _copy(source: asyncio.StreamReader, log: Path) -> None:
    with log.open("ab") as out:
        while chunk := await source.read(65536):
            out.write(chunk)
            out.flush()


async def run_cli(emu: Emulator, cwd: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """Run `python -m bot ARGS` to completion while this loop keeps serving the emulator."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=bot_env(emu, LOG_LEVEL="WARNING", **env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode or 0, out.decode(), err.decode()


async def post_to(webhook_url: str, body: bytes, secret: str = SECRET) -> int:
    """POST an envelope to a bot's webhook, signed as Webex signs it."""
    headers = {"Content-Type": "application/json", "X-Spark-Signature": sign(secret.encode(), body)}
    async with (
        aiohttp.ClientSession() as http,
        http.post(webhook_url, data=io.BytesIO(body), headers=headers) as reply,
    ):
        return reply.status
