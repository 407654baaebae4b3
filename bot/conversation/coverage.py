"""`coverage` (alias `locations`): "N of M locations covered", uncovered first, and progress.

A report over more than a handful of locations first posts a short text message and edits it as
the reads advance: Webex allows at most ten edits of a message and none of a message with a
card, so the line is plain text, edited at most MAX_EDITS times (the last one says the report
follows), and the report itself is a new message with the card. `coverage` writes nothing.

With personal sign-in everything is read with the person's own token (ctx.coverage); a
Location Administrator's report is about the locations their sign-in can see, and says so.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from bot.compliance.coverage import CoverageSnapshot, LocationCoverage, Reason
from bot.conversation.arguments import Args
from bot.conversation.context import Context
from bot.conversation.dispatch import CommandTable
from bot.conversation.setting import view
from bot.security import Permission
from bot.views.coverage import CoverageRow, CoverageView, coverage_card

COMMANDS = CommandTable()
HANDFUL = 5  # up to this many locations, the report comes without a progress line
MAX_EDITS = 10  # Webex's limit for editing one message
EDIT_INTERVAL = 0.5  # seconds between progress edits at most
SOURCES: dict[Reason, Literal["own", "organization"]] = {
    Reason.OWN_ADDRESS: "own", Reason.ORG_ADDRESS: "organization"}


class ProgressLine:
    """The "Checking N locations…" message: posted once there are more than a handful, edited
    as reads advance (never more than MAX_EDITS times), never waited on by the reads."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._message: asyncio.Task[str | None] | None = None
        self._edit: asyncio.Task[bool] | None = None
        self._edits = 0
        self._shown = 0
        self._last = 0.0

    async def update(self, read: int, listed: int, listed_all: bool) -> None:
        if self._message is None:
            if listed > HANDFUL:
                self._message = asyncio.create_task(self._ctx.send(_checking(listed, listed_all)))
            return
        step = max(listed // 10, 1)
        due = time.monotonic() - self._last >= EDIT_INTERVAL
        editing = self._edit is not None and not self._edit.done()
        if editing or not due or read - self._shown < step or self._edits >= MAX_EDITS - 1:
            return
        self._shown, self._last = read, time.monotonic()
        self._start_edit(f"Checked {read} of {listed}{'' if listed_all else '+'} locations…")

    async def finish(self, snapshot: CoverageSnapshot) -> None:
        """The last edit: how many were checked, and that the report follows."""
        if self._message is None:
            return
        await asyncio.wait([self._message])
        if self._edit is not None:
            await self._edit
        if self._edits < MAX_EDITS:
            self._start_edit(f"Checked {len(snapshot.locations)} locations: the report follows.")
            if self._edit is not None:
                await self._edit

    def _start_edit(self, text: str) -> None:
        """Edit the line, if it was posted (progress is not worth failing the report for)."""
        if self._message is None or not self._message.done() or self._message.exception():
            return
        message_id = self._message.result()
        if message_id is None:
            return
        self._edits += 1
        self._edit = asyncio.create_task(self._ctx.edit(message_id, text))


def _checking(listed: int, listed_all: bool) -> str:
    return f"Checking {listed}{'' if listed_all else '+'} locations…"


def row(item: LocationCoverage) -> CoverageRow:
    """One location as the card shows it (its name, never its id)."""
    reason = item.verdict.reason
    why = reason.value + (" (not counted)" if reason is Reason.GONE else "")
    return CoverageRow(item.name, item.covered, why, item.verdict.email, SOURCES.get(reason),
                       item.tracking_id)


async def coverage_view(ctx: Context, snapshot: CoverageSnapshot) -> CoverageView:
    rows = [row(c) for c in snapshot.uncovered] + [row(c) for c in snapshot.locations
                                                   if c.covered]
    organization = snapshot.organization
    return CoverageView(
        org_name=await ctx.org_name(),
        organization=view(organization) if organization is not None else None,
        covered=snapshot.covered, total=len(snapshot.counted), rows=rows,
        checked_at=ctx.now(), complete=snapshot.complete, problem=snapshot.problem,
        tracking_id=snapshot.tracking_id, organization_changed=snapshot.organization_changed,
        limited=snapshot.limited,
    )


@COMMANDS.register("coverage", permission=Permission.READ,
                   summary="Whether every Webex Calling location is covered, and why not.",
                   aliases=("locations",), location_admins=True)
async def coverage_command(ctx: Context, args: Args) -> None:
    progress = ProgressLine(ctx)
    snapshot = await ctx.coverage.read(ctx.org_id, progress.update, limited=ctx.sees_part)
    await progress.finish(snapshot)
    await ctx.send(coverage_card(await coverage_view(ctx, snapshot)))
