"""python -m bot.emulator: run the emulator standalone and print its base URL and tokens."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

from bot.emulator.seed import Seed
from bot.emulator.server import running_emulator


async def _serve(host: str, port: int, locations: int) -> None:
    large = Seed.default().with_locations(locations) if locations else None
    async with running_emulator(large, host=host, port=port) as emu:
        seed = emu.seed
        print(f"Webex emulator at {emu.base_url}", flush=True)
        print(
            json.dumps(
                {
                    "baseUrl": emu.base_url,
                    "botToken": seed.bot_token,
                    "adminToken": seed.admin_token,
                    "people": {n: p.token for n, p in seed.people.items()},
                    "control": emu.base_url.removesuffix("/v1") + "/_emulator/seed",
                },
                indent=2,
            ),
            flush=True,
        )
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Parse --host/--port and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m bot.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--locations", type=int, default=0,
                        help="a large organization: this many calling locations (Site 0001…)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.locations))


if __name__ == "__main__":
    main()
