"""python -m benchmarks.emulator: the Webex emulator with the load seed, in its own process.

Prints one JSON line ({"baseUrl": …, "control": …}) once it listens, then serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging

import uvloop

from benchmarks.quiet_gc import without_collector_pauses
from benchmarks.seed import load_seed
from bot.emulator import running_emulator


async def _serve(host: str, port: int, admins: int, latency: float, locations: int) -> None:
    seed = load_seed(admins)
    if locations:
        seed = seed.with_locations(locations)
    async with running_emulator(seed, host=host, port=port) as emu:
        emu.latency = latency
        control = emu.base_url.removesuffix("/v1") + "/_emulator"
        without_collector_pauses()
        print(json.dumps({"baseUrl": emu.base_url, "control": control}), flush=True)
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
