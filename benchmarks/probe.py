"""python -m benchmarks.probe FILE: webhooks posted one at a time, each acknowledgement timed.

A process of its own with a blocking keep-alive connection, so that what is timed is the bot's
answer and not the harness's event loop, which is busy keeping hundreds of commands in flight.
FILE is JSON: {"url": …, "interval": seconds, "bodies": [[body, signature], …]}; the result
({"acks": [seconds…], "statuses": {status: count}}) goes to standard output.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from urllib.parse import urlsplit

from benchmarks.quiet_gc import without_collector_pauses
from bot.security import SIGNATURE_HEADER


def probe(url: str, bodies: list[list[str]], interval: float) -> dict[str, object]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80)
    conn.connect()  # before the first probe: its connect is not timed
    acks: list[float] = []
    statuses: dict[str, int] = {}
    next_at = time.perf_counter()
    for body, signature in bodies:
        pause = next_at - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        next_at += interval
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
        started = time.perf_counter()
        conn.request("POST", parts.path, body.encode(), headers)
        reply = conn.getresponse()
        reply.read()
        acks.append(time.perf_counter() - started)
        statuses[str(reply.status)] = statuses.get(str(reply.status), 0) + 1
    conn.close()
    return {"acks": acks, "statuses": statuses}


def main() -> int:
    with open(sys.argv[1]) as file:
        job = json.load(file)
    without_collector_pauses()
    print(json.dumps(probe(job["url"], job["bodies"], job["interval"])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
