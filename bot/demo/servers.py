"""python -m bot demo: the Webex emulator and the bot in one process, wired as in production."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import sys
import tempfile
import threading
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from bot.demo.chat import start_in_background
from bot.models import WEBHOOK_PATH, WEBHOOKS

if TYPE_CHECKING:
    from bot.emulator import Emulator
    from bot.settings import Settings

# The emulator, the bot and aiohttp are imported where they are used, inside run_demo's
# Ctrl-C handling: an interrupt while they load still ends the demo cleanly.

log = logging.getLogger(__name__)
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
DEMO_WATCH_SECONDS = 10.0  # the watch checks often in the demo: /controlhub shows up soon


@dataclass(frozen=True)
class Addresses:
    emulator: str  # the emulator's root, without /v1
    bot: str
    console: str | None = None  # the browser console's page (demo --web)
    ops: str | None = None  # the bot's /readyz and /metrics, as on serve's ops port


def demo_settings(
    emu: Emulator, database: Path, secret: str, watch_seconds: float = DEMO_WATCH_SECONDS
) -> Settings:
    """The bot's settings for the demo: the emulator's tokens and URL, a throwaway database."""
    from bot.settings import Settings

    values: dict[str, Any] = {
        "WEBEX_BOT_TOKEN": emu.seed.bot_token,
        "WEBEX_ADMIN_TOKEN": emu.seed.admin_token,
        "WEBEX_WEBHOOK_SECRET": secret,
        "WEBEX_API_URL": emu.base_url,
        "WEBEX_ORG_ID": None,
        "WEBEX_CLIENT_ID": None,  # never pick up a real Service App from the environment
        "WEBEX_CLIENT_SECRET": None,
        "WEBEX_ADMIN_REFRESH_TOKEN": None,
        "PUBLIC_URL": None,
        "DATABASE_URL": f"sqlite:///{database}",
        "HOST": "127.0.0.1",
        "PORT": 0,
        "SHUTDOWN_GRACE_SECONDS": 3.0,
        "WATCH_INTERVAL_SECONDS": watch_seconds,
    }
    return Settings(_env_file=None, **values)


async def register_webhooks(emu: Emulator, target: str, secret: str) -> None:
    """Create the bot's webhooks as its owner would: POST /v1/webhooks with the bot's token."""
    import aiohttp

    headers = {"Authorization": f"Bearer {emu.seed.bot_token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for resource, event in WEBHOOKS:
            body = {
                "name": f"ecn-bot demo {resource}",
                "targetUrl": target,
                "resource": resource,
                "event": event,
                "secret": secret,
            }
            async with http.post(f"{emu.base_url}/webhooks", json=body) as reply:
                if reply.status != 200:
                    raise RuntimeError(f"creating the {resource} webhook: {reply.status}")


class Servers:
    """The emulator and the bot on free local ports, in one asyncio loop on a background thread."""

    def __init__(
        self,
        workdir: Path,
        console_port: int | None = None,
        watch_seconds: float = DEMO_WATCH_SECONDS,
    ) -> None:
        self._workdir = workdir
        self._watch_seconds = watch_seconds
        self._console_port = console_port  # None: no browser console
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="demo-servers", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.addresses: Addresses | None = None
        self.error: BaseException | None = None

    def start(self) -> Addresses:
        """Start both servers; return where they listen once the bot is ready."""
        start_in_background(self._thread)
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError("the demo did not start in time")
        if self.error is not None or self.addresses is None:
            raise RuntimeError(f"the demo could not start: {self.error}")
        return self.addresses

    def stop(self) -> None:
        """Stop both servers (also while they are still starting) and wait for them."""
        with self._lock:
            self._stopping.set()
            if self._loop is not None and self._stop is not None:
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported by start(); the thread must not print it
            self.error = error
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        with self._lock:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            if self._stopping.is_set():  # stopped before the loop was there to be told
                return
        from aiohttp import web

        from bot import logs
        from bot.emulator import running_emulator
        from bot.server.app import create_app
        from bot.server.ops_listener import start_ops_listener

        secret = secrets.token_hex(32)
        async with running_emulator() as emu:
            settings = demo_settings(emu, self._workdir / "bot.db", secret, self._watch_seconds)
            logs.configure(
                os.environ.get("LOG_LEVEL", "WARNING"),
                "text",
                [secret, emu.seed.bot_token, emu.seed.admin_token],
            )
            app = create_app(settings)
            runner = web.AppRunner(app, handle_signals=False, access_log=None)
            await runner.setup()
            try:
                await watch_group(app, emu)
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                bot_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
                await register_webhooks(emu, f"{bot_url}{WEBHOOK_PATH}", secret)
                ops = await start_ops_listener(app, "127.0.0.1", 0)
                ops_url = f"http://127.0.0.1:{ops.addresses[0][1]}"
                async with AsyncExitStack() as stack:
                    stack.push_async_callback(ops.cleanup)
                    console = None
                    if self._console_port is not None:
                        from bot.demo.console import running_console

                        console = await stack.enter_async_context(
                            running_console(emu, port=self._console_port)
                        )
                    self.addresses = Addresses(emu.base_url.removesuffix("/v1"), bot_url, console,
                                               ops_url)
                    self._ready.set()
                    await self._stop.wait()
            finally:
                await runner.cleanup()


async def watch_group(app: Any, emu: Emulator) -> None:
    """The group space watches from the start, as if Alice had said `watch` there."""
    from bot.server.app import WIRING

    wiring = app[WIRING]
    await wiring.store.watch_space(wiring.org_id, emu.seed.rooms["group"],
                                   emu.seed.people["alice"].id, wiring.clock())  # fmt: skip
    wiring.watch.poke()


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_demo(args: argparse.Namespace) -> int:
    """`python -m bot demo`: start everything, open the chat (or the console), stop cleanly."""
    # Ctrl-C stops the demo even when it was started with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    with tempfile.TemporaryDirectory(prefix="ecn-bot-demo-") as workdir:
        servers = Servers(Path(workdir), args.port if args.web else None)
        try:
            return _run(servers, args, Path(workdir))
        except KeyboardInterrupt:
            return 0
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut this
                signal.signal(signum, signal.SIG_IGN)
            print("Stopping the bot and the emulator…", flush=True)
            servers.stop()
            print("Stopped.", flush=True)


def _run(servers: Servers, args: argparse.Namespace, workdir: Path) -> int:
    addresses = servers.start()
    print("Kari's Law bot demo: the bot and a Webex emulator, wired by signed webhooks.")
    root = addresses.emulator
    print(f"  Webex emulator  {root}/v1   (control API {root}/_emulator/seed)")
    print(f"  bot             {addresses.bot}   (webhooks at {WEBHOOK_PATH})")
    if addresses.ops:
        print(f"  bot ops         {addresses.ops}/readyz and /metrics   (serve's OPS_PORT)")
    print(f"  bot database    {workdir / 'bot.db'}   (deleted on exit)")
    if addresses.console:
        print(f"  browser console {addresses.console}   (open it in a browser)")
    print("  people          alice (full admin), uma (user admin), rita (read-only admin),")
    print("                  bob (regular user), sam (support admin), eve (another org),")
    print("                  lou (location admin of Riverside Clinic and Northgate Urgent Care)")
    print("  locations       Headquarters, Riverside Clinic, Northgate Urgent Care, Lakeside")
    print("                  Pharmacy (Webex Calling), Warehouse (no Webex Calling)")
    print("Stop with Ctrl-C" + ("." if args.no_chat or args.web else " or /quit."), flush=True)
    if args.no_chat or args.web:
        threading.Event().wait()  # until Ctrl-C or SIGTERM
        return 0
    from bot.demo.chat import chat_session

    return chat_session(addresses.emulator, "alice", None)
