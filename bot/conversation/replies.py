"""Posting replies: in the thread in group spaces, once per event even when an event is resumed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bot.aio import complete_despite_cancel
from bot.errors import BotError, WebexError
from bot.views.cards import CardMessage, Fact, notice_card

if TYPE_CHECKING:
    from bot.conversation.dispatch import Context

log = logging.getLogger(__name__)
Style = Literal["good", "attention", "warning", "default"]


@dataclass
class Outbox:
    """Replies already posted for one event (loaded when an event is resumed after a crash),
    and bookkeeping that must finish before the event is done but need not delay a reply."""

    sent: dict[str, str] = field(default_factory=dict)
    count: int = 0
    resumed: bool = False
    deferred: list[asyncio.Task[Any]] = field(default_factory=list)
    last: list[Coroutine[Any, Any, Any]] = field(default_factory=list)

    def defer(self, work: Coroutine[Any, Any, Any]) -> None:
        """Start `work` now; the event is not done until it has finished."""
        self.deferred.append(asyncio.ensure_future(work))

    def finally_(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` once the event has been answered (e.g. remove a used card)."""
        self.last.append(work)

    def abandon(self) -> None:
        """The event failed or was cancelled: drop the final steps, log deferred failures."""
        for work in self.last:
            work.close()
        self.last.clear()
        for task in self.deferred:
            task.add_done_callback(_log_failure)

    async def settle(self) -> None:
        """Wait for the deferred work, then run the final steps; failures are raised here."""
        if self.deferred:
            await asyncio.gather(*self.deferred)
        while self.last:
            await self.last.pop(0)


class Replier:
    """The one place that posts the bot's answers and turns errors into cards."""

    async def send(self, ctx: Context, reply: CardMessage) -> str | None:
        """Post `reply` where `ctx` came from; returns the new message id."""
        outbox = ctx.outbox
        outbox.count += 1
        step = f"reply{outbox.count}"
        if step in outbox.sent:
            log.info("event %s: reply %d was posted before a restart; not again", ctx.event_key,
                     outbox.count)
            return outbox.sent[step]

        async def post_and_record() -> str:
            message_id = await ctx.services.webex.post_message(
                ctx.room_id,
                reply.markdown,
                attachments=reply.attachments(),
                parent_id=ctx.thread_id,
            )
            outbox.sent[step] = message_id
            await ctx.services.store.set_event_step(ctx.event_key, step,
                                                    {"message_id": message_id})
            return message_id

        # Shutdown: a POST already sent may land whatever happens here. Let it finish and be
        # recorded, or a resumed event posts the reply twice.
        return await complete_despite_cancel(
            post_and_record(), ctx.services.settings.WEBEX_TIMEOUT_SECONDS)

    async def notice(
        self, ctx: Context, title: str, text: str, *, style: Style = "default",
        facts: tuple[Fact, ...] = (),
    ) -> None:
        await self.send(ctx, notice_card(title=title, text=text, style=style, facts=facts))

    async def error(self, ctx: Context, error: BotError) -> None:
        """A failure the person should know about, with Webex's tracking id when there is one."""
        title = "Webex could not do that" if isinstance(error, WebexError) else "That did not work"
        try:
            await self.send(
                ctx,
                notice_card(
                    title=title,
                    text=error.user_message,
                    style="attention",
                    tracking_id=error.tracking_id,
                ),
            )
        except WebexError as again:
            log.error("event %s: could not post the error reply (tracking id %s)",
                      ctx.event_key, again.tracking_id)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("deferred bookkeeping failed: %r", task.exception())
