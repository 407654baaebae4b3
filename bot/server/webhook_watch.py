"""The bot's own webhooks, looked at every WEBHOOK_CHECK_SECONDS: one that Webex disabled
(after 100 failed deliveries in 5 minutes it does, and documents no redelivery) is put back
to active, and said so in the log; readiness and the metrics show what is still inactive.

Only the bot's own webhooks are touched: which ones are its own is the one function given
(`own`: the listing in, the bot's ones out; it may ask the database), so that it follows
wherever the bot keeps that knowledge.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.errors import BotError
from bot.metrics import Metrics
from bot.receiving.spool import Trouble
from bot.store import is_database_outage
from bot.webex.gateway import WebexGateway

log = logging.getLogger(__name__)
Own = Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]


class WebhookWatch:
    """Finds the bot's inactive webhooks and re-activates them."""

    def __init__(self, webex: WebexGateway, secret: str, metrics: Metrics, *,
                 own: Own) -> None:
        self._webex = webex
        self._secret = secret
        self._metrics = metrics
        self._own = own
        self._listing = Trouble("listing the bot's webhooks")
        self.inactive: list[str] = []  # names of our webhooks not active after the last look

    async def check(self) -> None:
        """One look: re-activate what is disabled; `inactive` says what could not be."""
        try:
            hooks = await self._own(await self._webex.list_webhooks())
        except BotError as error:
            self._listing.failed(error, "their status is not known")
            return
        self._listing.worked()
        still = []
        for hook in hooks:
            if hook.get("status") == "active":
                continue
            name = str(hook.get("name"))
            try:
                # PUT takes name and targetUrl (required) and the secret: all as they were.
                await self._webex.update_webhook(
                    str(hook["id"]), name=name, targetUrl=hook.get("targetUrl"),
                    secret=self._secret, status="active")
            except BotError as error:
                log.error("webhook %s (%s) is %s and could not be re-activated: %s",
                          hook.get("id"), name, hook.get("status"), error.described())
                still.append(name)
                continue
            self._metrics.webhooks_reactivated.inc()
            log.warning("webhook %s (%s) was %s at Webex (it disables a webhook after repeated "
                        "failed deliveries): re-activated", hook.get("id"), name,
                        hook.get("status"))
        self.inactive = still
        self._metrics.webhooks_inactive.set(len(still))

    async def forever(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.check()
            except Exception as error:
                if is_database_outage(error) or isinstance(error, BotError):
                    # Expected during an outage (ours or Webex's): one line, no traceback.
                    log.warning("checking the bot's webhooks failed (%s); trying again later",
                                type(error).__name__)
                else:
                    log.exception("checking the bot's webhooks failed; trying again later")
