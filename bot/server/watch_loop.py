"""The watch's loop in the worker: a check every WATCH_INTERVAL_SECONDS (at once when poked),
under the organization's watch lock, then the check's posts; stopped within the shutdown grace.

Every replica runs the loop; the lock lets one check at a time, and a replica finding that
another checked less than half an interval ago only makes the posts still pending. A check cut
by shutdown saves nothing (it is found again by the next); a post under way is given the grace
to finish and be recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.clock import utcnow
from bot.compliance.coverage import CoverageReader
from bot.compliance.watch import CheckResult, Watch
from bot.conversation.card_tokens import CardTokens
from bot.conversation.watch_posts import WatchPoster
from bot.metrics import Metrics
from bot.settings import Settings
from bot.store import Store, is_database_outage
from bot.webex.admin_audit import AdminAuditClient
from bot.webex.auth import AdminAuth
from bot.webex.directory import Directory
from bot.webex.gateway import WebexGateway
from bot.webex.rest import WebexRest
from bot.webex.retry import RetryPolicy

log = logging.getLogger(__name__)
BUSY_RETRY = 1.0  # seconds


class WatchLoop:
    """Runs one organization's watch in this process."""

    def __init__(self, store: Store, watch: Watch, poster: WatchPoster, metrics: Metrics, *,
                 org_id: str, interval: float, clock: Callable[[], datetime]) -> None:  # fmt: skip
        self._store = store
        self._watch = watch
        self._poster = poster
        self._metrics = metrics
        self._org_id = org_id
        self.interval = interval
        self._clock = clock
        self._poked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def poke(self) -> None:
        """Check now (a change went through this bot, or a space started watching)."""
        self._poked.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._main(), name="watch")

    async def stop(self, grace: float) -> None:
        """Stop taking checks; a check under way gets `grace` seconds, then is cancelled."""
        self._stopping = True
        self._poked.set()
        task, self._task = self._task, None
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            log.info("watch: a check was still running at shutdown; it is cancelled")
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _main(self) -> None:
        # The first turn checks unless another replica checked moments ago: what changed while
        # this one was down is found either way.
        forced = False
        while not self._stopping:
            outcome = "failed"
            try:
                outcome = (await self.run_once(forced=forced)).outcome
            except Exception as error:  # a check's failure must never end the loop
                if is_database_outage(error):
                    # Expected while the database is down: one line, not a traceback a check.
                    log.warning("watch: the check could not reach the database (%s); next at "
                                "the interval", type(error).__name__)
                else:
                    log.exception("watch: the check failed unexpectedly; next at the interval")
            # Asked for a check while another replica held the lock: ask again shortly.
            retry = forced and outcome == "busy"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), BUSY_RETRY if retry else self.interval)
            forced = self._poked.is_set() or retry
            self._poked.clear()

    async def run_once(self, *, forced: bool = True) -> CheckResult:
        """One turn: the check (unless another replica ran one recently) and the posts;
        "busy" when another replica holds the lock, "skipped" when no check was due."""
        async with self._store.watch_lock(self._org_id) as mine:
            if not mine:
                return CheckResult("busy")
            result = CheckResult("skipped")
            if forced or await self._due():
                result = await self._watch.check()
            await self._poster.deliver(self._org_id)
        if result.outcome not in ("idle", "skipped"):
            self._metrics.watch_check(
                result.outcome, result.seconds,
                ["alert" if c.alert else "notice" for c in result.changes], time.time(),
            )  # fmt: skip
        return result

    async def _due(self) -> bool:
        state = await self._store.watch_state(self._org_id)
        recent = self._clock() - timedelta(seconds=self.interval / 2)
        return state.checked_at is None or state.checked_at <= recent


def build_watch(
    settings: Settings, *, org_id: str, store: Store, rest: WebexRest, admin: AdminAuth,
    policy: RetryPolicy, reader: CoverageReader, webex: WebexGateway, tokens: CardTokens,
    directory: Directory, metrics: Metrics,
) -> WatchLoop:
    """The watch of the bot's organization (reading through the coverage reader the
    `coverage` command uses: one cap on calls in flight), its poster and its loop."""
    watch = Watch(
        store=store, reader=reader,
        audit_log=AdminAuditClient(rest, admin, policy=policy), org_id=org_id,
        org_name=directory.org_name, clock=utcnow,
    )  # fmt: skip
    poster = WatchPoster(store, webex, tokens, directory, clock=utcnow,
                         timeout=settings.WEBEX_TIMEOUT_SECONDS)  # fmt: skip
    return WatchLoop(store, watch, poster, metrics, org_id=org_id,
                     interval=settings.WATCH_INTERVAL_SECONDS, clock=utcnow)  # fmt: skip
