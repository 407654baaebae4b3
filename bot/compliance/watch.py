"""The watch's check: read coverage, compare with the last state seen, save each change once.

The caller holds the organization's watch lock (one checker at a time across replicas). A
check's result -- the new state and its changes, each with one pending post per watching space
-- is saved in one transaction guarded by the state's version, so a check cut short by SIGTERM
or a crash saves nothing and the next one finds the same changes again; two checks can never
both save. The first check after `watch` is turned on (or after the last space stopped
watching) takes the state as it is, and reports nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.compliance.coverage import CoverageReader, CoverageSnapshot, Reason
from bot.compliance.watch_actor import SLACK, audit_events, from_audit_log, split_by_actor
from bot.compliance.watch_diff import Change, changes_between, seen_of
from bot.errors import WebexError
from bot.store import Store, WatchState
from bot.webex.admin_audit import AdminAuditClient

log = logging.getLogger(__name__)
FAILURES_BEFORE_NOTICE = 3
CANNOT_CHECK, CHECKING_AGAIN = "cannot_check", "checking_again"
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class CheckResult:
    """How a check went: ok, baseline, partial (some locations unread), failed, idle (nobody
    watches), or stale (another checker saved first); and the changes it saved."""

    outcome: str
    changes: tuple[Change, ...] = ()
    seconds: float = 0.0


class Watch:
    """Checks one organization's setting and every location's against the last state seen."""

    def __init__(
        self, *, store: Store, reader: CoverageReader, audit_log: AdminAuditClient | None,
        org_id: str, org_name: Callable[[], Awaitable[str]], clock: Clock,
    ) -> None:  # fmt: skip
        self._store = store
        self._reader = reader
        self._audit_log = audit_log
        self._org_id = org_id
        self._org_name = org_name
        self._clock = clock

    async def check(self) -> CheckResult:
        """One check (the caller holds the watch lock)."""
        started = time.monotonic()
        if not await self._store.watching_spaces(self._org_id):
            return CheckResult("idle")
        state = await self._store.watch_state(self._org_id)
        read_at = self._clock()
        try:
            snap = await self._reader.read(self._org_id)
            if not snap.complete:
                raise WebexError(snap.problem or "A page of the location list could not be read.",
                                 tracking_id=snap.tracking_id)  # fmt: skip
            if snap.organization is None:  # only a limited read leaves it out, never the watch's
                raise WebexError("The organization's setting could not be read.")
        except WebexError as error:
            result = await self._failed(state, error)
        else:
            result = await self._compare(state, snap, read_at)
        return dataclasses.replace(result, seconds=time.monotonic() - started)

    async def _compare(self, state: WatchState, snap: CoverageSnapshot,
                       read_at: datetime) -> CheckResult:  # fmt: skip
        seen = seen_of(snap, state.snapshot)
        unread = [p.name for p in snap.locations if p.verdict.reason is Reason.UNREADABLE]
        changes: list[Change] = []
        if state.snapshot is not None:
            found = changes_between(
                state.snapshot, seen, org_id=self._org_id, org_name=await self._org_name(),
                covered=snap.covered, total=len(snap.counted),
            )  # fmt: skip
            changes = await self._attributed(found, state.seen_at or read_at)
        failures = state.failures + 1 if unread else 0
        detail = f"could not read {len(unread)} location(s): {', '.join(unread[:10])}"
        extra, notified = self._notices(state, failures, detail if unread else None)
        new = WatchState(
            self._org_id, snapshot=seen, seen_at=read_at, checked_at=self._clock(),
            outcome="partial" if unread else "ok", failures=failures,
            failing_notified=notified, detail=detail if unread else None,
        )  # fmt: skip
        rows = [("alert" if c.alert else "notice", c.to_json()) for c in changes] + extra
        if await self._store.save_watch(state, new, rows, self._clock()) is None:
            log.info("watch of %s: another check saved first; nothing saved", self._org_id)
            return CheckResult("stale")
        outcome = "baseline" if state.snapshot is None else new.outcome or "ok"
        log.info("watch of %s: %s, %d change(s)", self._org_id, outcome, len(changes))
        return CheckResult(outcome, tuple(changes))

    async def _attributed(self, found: list[Change], since: datetime) -> list[Change]:
        if not found:
            return []
        # From a little before the last read: a row written just before that read may belong
        # to a PUT that landed just after it.
        rows = await self._store.list_audit(self._org_id, limit=None, since=since - SLACK)
        records = [r for r in rows if r.outcome in ("applied", "pending")]
        split = [part for change in found for part in split_by_actor(change, records)]
        if all(c.actor.get("kind") != "outside" for c in split):
            return split
        events = await audit_events(self._audit_log, self._org_id, since, self._clock())
        return [from_audit_log(c, events) for c in split]

    def _notices(
        self, state: WatchState, failures: int, problem: str | None
    ) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
        """The "cannot check" notice when failures reach the threshold, and "checking again"
        when they stop; each once (the state remembers which is out)."""
        if failures >= FAILURES_BEFORE_NOTICE and not state.failing_notified:
            return [(CANNOT_CHECK, {"failures": failures, "detail": problem})], True
        if failures == 0 and state.failing_notified:
            return [(CHECKING_AGAIN, {"since": state.checked_at and state.checked_at.isoformat()})
                    ], False  # fmt: skip
        return [], state.failing_notified

    async def _failed(self, state: WatchState, error: WebexError) -> CheckResult:
        failures = state.failures + 1
        log.warning("watch of %s: check failed (%d in a row; tracking id %s): %s", self._org_id,
                    failures, error.tracking_id, error.user_message)  # fmt: skip
        extra, notified = self._notices(state, failures, error.user_message)
        new = dataclasses.replace(
            state, checked_at=self._clock(), outcome="failed", failures=failures,
            failing_notified=notified, detail=error.user_message,
        )  # fmt: skip
        if extra:
            extra[0][1]["tracking_id"] = error.tracking_id
        saved = await self._store.save_watch(state, new, extra, self._clock())
        return CheckResult("failed" if saved is not None else "stale")
