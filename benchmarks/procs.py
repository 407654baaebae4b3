"""The emulator and the bot as real subprocesses, and what the harness reads back from them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

SECRET = "load-webhook-secret-0123456789abcdef"  # noqa: S105 - a test fixture, not a secret
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds_of(pid: int | str) -> float:
    """User + system CPU time a process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


@dataclass
class EmulatorProcess:
    """The emulator in its own process, driven through /_emulator."""

    proc: subprocess.Popen[str]
    base_url: str
    control: str
    seed: dict[str, Any]
    landings: int = 0  # the port on which it writes a line for each message the bot creates

    def get(self, route: str, **params: Any) -> Any:
        reply = requests.get(f"{self.control}{route}", params=params, timeout=30)
        reply.raise_for_status()
        return reply.json()

    def post(self, route: str, body: dict[str, Any] | None = None) -> Any:
        reply = requests.post(f"{self.control}{route}", json=body or {}, timeout=30)
        reply.raise_for_status()
        return reply.json()

    def cpu_seconds(self) -> float:
        return cpu_seconds_of(self.proc.pid)

    def set_latency(self, seconds: float) -> None:
        self.post("/latency", {"seconds": seconds})

    def calls(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("method", method), ("path", path)) if v}
        items: list[dict[str, Any]] = self.get("/requests", **params)["items"]
        return items


@contextlib.contextmanager
def emulator_process(admins: int = 40, latency: float = 0.0,
                     locations: int = 0) -> Iterator[EmulatorProcess]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.emulator", "--admins", str(admins),
         "--latency", str(latency), "--locations", str(locations)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the emulator did not start")
        info = json.loads(line)
        seed = requests.get(f"{info['control']}/seed", timeout=10).json()
        yield EmulatorProcess(proc, info["baseUrl"], info["control"], seed, info["landings"])
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@dataclass
class BotProcess:
    """`python -m bot serve` with a SQLite file of its own."""

    proc: subprocess.Popen[bytes]
    url: str
    env: dict[str, str]
    log_path: Path

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhooks/webex"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def status(self) -> dict[str, int]:
        """Memory of the bot in kB, the `serve` process and its receiving process together:
        VmRSS and VmHWM (peak) summed, which counts the pages they share (the interpreter,
        libraries) twice, and Pss, which divides shared pages between the processes: the sum
        of Pss is what the two cost the machine. Also VmRSS of the worker alone."""
        found: dict[str, int] = {"VmRSS": 0, "VmHWM": 0, "Pss": 0}
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        for pid in [str(self.pid), *children]:
            lines = (Path(f"/proc/{pid}/status").read_text().splitlines()
                     + Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines())
            for line in lines:
                name, _, value = line.partition(":")
                if name in found:
                    found[name] += int(value.split()[0])
            if pid == str(self.pid):
                found["worker_VmRSS"] = found["VmRSS"]
        return found

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system, from /proc/<pid>/stat) used so far by the worker (the
        `serve` process) and by its receiving process: robust to other load on the machine,
        where wall-clock figures are not."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        found = {"worker": 0.0, "receiver": 0.0}
        for pid in [str(self.pid), *children]:
            found["worker" if pid == str(self.pid) else "receiver"] += cpu_seconds_of(pid)
        return found

    @property
    def ops_url(self) -> str:
        """/readyz and /metrics: the ops port (OPS_PORT)."""
        return f"http://127.0.0.1:{self.env['OPS_PORT']}"

    def metrics(self) -> str:
        return requests.get(f"{self.ops_url}/metrics", timeout=10).text

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def start_bot(emu: EmulatorProcess, workdir: Path, **overrides: Any) -> BotProcess:
    """Start the bot against the emulator and wait until /healthz answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBEX_", "DATABASE_"))}
    env.update({
        "WEBEX_BOT_TOKEN": emu.seed["bot"]["token"],
        "WEBEX_ADMIN_TOKEN": emu.seed["adminToken"],
        "WEBEX_WEBHOOK_SECRET": SECRET,
        "WEBEX_API_URL": emu.base_url,
        "DATABASE_URL": f"sqlite:///{workdir / 'bot.db'}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "OPS_PORT": str(free_port()),
        "LOG_LEVEL": "INFO",
        "COMMAND_BURST": "1000000",
        "COMMAND_RATE_PER_MINUTE": "1000000",
        "PYTHONPATH": str(ROOT),
    })
    env.update({k: str(v) for k, v in overrides.items()})
    log_path = workdir / f"bot-{port}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=workdir, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    bot = BotProcess(proc, f"http://127.0.0.1:{port}", env, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text()[-2000:]
            raise RuntimeError(f"the bot exited ({proc.returncode}): {tail}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{bot.url}/healthz", timeout=1).status_code == 200:
                return bot
        time.sleep(0.05)
    bot.stop(signal.SIGKILL)
    raise RuntimeError("the bot did not become healthy in 30 s")
