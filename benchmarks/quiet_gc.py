"""The stand-in for Webex and the load generators run without the cyclic garbage collector.

With tens of thousands of messages and recorded requests in its heap, the emulator's full
collections took 40-70 ms, and the harness's 25-40 ms (gc.callbacks, timed): each one stalled
every command in flight at that moment and showed up in the bot's p99 as if the bot had paused.
The bot itself runs with its collector on, as in production (its collections stayed under 5 ms).
A run is minutes long and these processes keep what they create anyway, so nothing is lost by
not collecting cycles in them.
"""

from __future__ import annotations

import gc


def without_collector_pauses() -> None:
    gc.collect()
    gc.freeze()
    gc.disable()
