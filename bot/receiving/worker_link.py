"""The receiving process's end of the link to the worker (bot/server/link.py is the other):
one line of JSON per message, an accepted event or a count, written once a turn of the loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime
from typing import Any

from bot.receiving.body import as_json

LINK_BUFFER_LIMIT = 64 * 1024 * 1024  # unread by the worker: hand on no more events


class WorkerLink:
    """One line of JSON per message to the worker: an accepted event, or a count."""

    def __init__(self, writer: asyncio.StreamWriter, *, journaled: bool) -> None:
        self._writer = writer
        self._journaled = journaled  # only in the journal: the worker records it in the inbox
        self._lines: list[bytes] = []

    def _send(self, message: dict[str, Any], body: dict[str, Any] | None = None) -> None:
        # Written once per turn of the loop: each write wakes the worker, and on a virtual
        # machine a wake-up costs more than the line (a burst's 20 events are one write).
        if not self._lines:
            asyncio.get_running_loop().call_soon(self.flush)
        line = json.dumps(message, separators=(",", ":"))
        if body is not None:  # the webhook's own text, not encoded again
            line = f'{line[:-1]},"body":{as_json(body)}}}'
        self._lines.append(line.encode() + b"\n")

    def flush(self) -> None:
        """Write the lines so far now, not at the end of the turn (then there are none)."""
        lines, self._lines = self._lines, []
        if not lines:
            return
        if self._writer.is_closing():
            # The worker is gone (and this process follows it): the event is in the journal
            # (SQLite), which the next start reads, or in the inbox under a lease that runs
            # out (PostgreSQL), which the next sweep takes.
            return
        self._writer.write(b"".join(lines))

    def accept(self, key: str, resource: str, event: str, body: dict[str, Any],
               received_at: datetime, *, spooled: bool) -> None:
        if self.backed_up and not spooled:
            # The worker is far behind: it takes this one from where it was recorded (the
            # journal, or the inbox under its lease) when it catches up. A line says so.
            self._send({"deferred": received_at.isoformat()})
            return
        self._send({"key": key, "resource": resource, "event": event,
                    "received_at": received_at.isoformat(),
                    "journaled": self._journaled or spooled}, body)

    def recording(self, failing: bool) -> None:
        self._send({"recording_failing": failing})

    def refused(self, reason: str) -> None:
        self._send({"connection_refused": reason})

    def count(self, kind: str, outcome: str) -> None:
        self._send({"count": [kind, outcome]})

    def signature_failed(self) -> None:
        self._send({"signature_failed": 1})

    @property
    def backed_up(self) -> bool:
        """The worker has not read this much yet: hand on no more events until it catches up."""
        return self._writer.transport.get_write_buffer_size() > LINK_BUFFER_LIMIT

    async def close(self) -> None:
        if self._lines:
            self.flush()  # the last acknowledged events' lines, before the link closes
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
