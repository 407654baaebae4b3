"""python -m benchmarks.emulator: the Webex emulator with the load seed, in its own process.

Prints one JSON line ({"baseUrl": …, "control": …, "landings": port}) once it listens, then
serves until killed. `landings` is a TCP port of its own: to every connection on it the process
writes one JSON line ({"key": parentId or roomId, "id": message id, "at": time.time()}) for
each message the bot creates, in the same call that creates it, so that a load generator learns
that a reply landed without a webhook delivery (signing, a POST, parsing) in between.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import time
from typing import cast

import uvloop

from benchmarks.quiet_gc import without_collector_pauses
from benchmarks.seed import load_seed
from bot.emulator import running_emulator
from bot.emulator.state import Event


class LandingFeed:
    """The bot's new messages, written as they are created to every connected harness."""

    def __init__(self, bot_id: str) -> None:
        self.bot_id = bot_id
        self.transports: set[asyncio.Transport] = set()

    def on_event(self, event: Event) -> None:
        """A state listener: called synchronously by the emulator as the event is emitted."""
        if (event.resource != "messages" or event.event != "created"
                or event.author_id != self.bot_id or not self.transports):
            return
        data = event.data
        line = json.dumps({"key": data.get("parentId") or data.get("roomId"), "id": data["id"],
                           "at": time.time()}).encode() + b"\n"
        for transport in self.transports:
            transport.write(line)

    def protocol(self) -> asyncio.Protocol:
        return _Subscriber(self)


class _Subscriber(asyncio.Protocol):
    def __init__(self, feed: LandingFeed) -> None:
        self._feed = feed
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses (an isinstance check fails).
        self._transport = cast(asyncio.Transport, transport)
        self._feed.transports.add(self._transport)
        # The harness waits for this line: from here on it gets every landing.
        self._transport.write(b'{"hello": true}\n')

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._feed.transports.discard(self._transport)


async def _serve(host: str, port: int, admins: int, latency: float, locations: int) -> None:
    seed = load_seed(admins)
    if locations:
        seed = seed.with_locations(locations)
    async with running_emulator(seed, host=host, port=port) as emu:
        emu.latency = latency
        control = emu.base_url.removesuffix("/v1") + "/_emulator"
        feed = LandingFeed(seed.bot_id)
        emu.state.listeners.append(feed.on_event)
        server = await asyncio.get_running_loop().create_server(feed.protocol, host, 0)
        landings = server.sockets[0].getsockname()[1]
        without_collector_pauses()
        print(json.dumps({"baseUrl": emu.base_url, "control": control, "landings": landings}),
              flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--admins", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--locations", type=int, default=0,
                        help="replace the main org's locations by this many calling locations")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        # On uvloop, as the bot runs: Webex's stand-in should not take more of the two shared
        # cores than it must.
        uvloop.run(_serve(args.host, args.port, args.admins, args.latency, args.locations))


if __name__ == "__main__":
    main()
