"""Card submissions, routed by their `action` to handlers in one table, behind the card's token."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot.conversation import commands
from bot.conversation.card_tokens import THREAD, CardRefused
from bot.conversation.dispatch import Context, authorize, run_command
from bot.errors import BotError
from bot.models import (
    MENU_ACTIONS,
    CancelCard,
    ConfirmDisable,
    NotificationSetting,
    ShowCommand,
)
from bot.store import CardToken

log = logging.getLogger(__name__)
ActionHandler = Callable[[Context, Any, CardToken], Awaitable[None]]
ACTIONS: dict[str, ActionHandler] = {}
CHANGES = {"save_settings": "save", "confirm_disable": "disable"}  # audited action names


def action(name: str) -> Callable[[ActionHandler], ActionHandler]:
    def add(handler: ActionHandler) -> ActionHandler:
        ACTIONS[name] = handler
        return handler

    return add


async def dispatch(ctx: Context, submission: Any) -> None:
    """Check the card's token for this person, then run the action; refusals change nothing."""
    services = ctx.services
    name = submission.action
    try:
        token = await services.tokens.check(ctx, submission.token, name)
        ctx = replace(ctx, thread_id=token.payload.get(THREAD))
        await ACTIONS[name](ctx, submission, token)
    except CardRefused as refused:
        if refused.thread is not None:
            ctx = replace(ctx, thread_id=refused.thread)
        services.metrics.command(f"card:{name}", "refused")
        log.info("event %s: card %s refused for %s: %s", ctx.event_key, name, ctx.person_id,
                 refused.user_message)
        if name in CHANGES:  # an attempted change, refused: the audit trail shows it
            await services.changes.refused(ctx, CHANGES[name], refused.user_message)
        await services.replier.notice(ctx, "Card not accepted", refused.user_message,
                                      style="attention")
        return
    except BotError as error:
        services.metrics.command(f"card:{name}", "failed")
        await services.replier.error(ctx, error)
        return
    services.metrics.command(f"card:{name}", "ok")


def _show(name: str) -> ActionHandler:
    async def show(ctx: Context, submission: ShowCommand, token: CardToken) -> None:
        command = commands.COMMANDS.commands[name]
        if ctx.access is None or not ctx.access.allows(command.permission):
            # Refuse before the token is used, so the card still works for whoever may press it.
            await authorize(ctx, command.permission, None)
            return
        await ctx.services.tokens.use(ctx, token)
        await run_command(ctx, command, "")

    return show


for _name in MENU_ACTIONS:
    action(_name)(_show(_name))


@action("cancel")
async def cancel(ctx: Context, submission: CancelCard, token: CardToken) -> None:
    await ctx.services.tokens.use(ctx, token)
    await ctx.services.replier.notice(ctx, "Cancelled", "Nothing was changed.")


@action("confirm_disable")
async def confirm_disable(ctx: Context, submission: ConfirmDisable, token: CardToken) -> None:
    expected = NotificationSetting.model_validate(token.payload["expected"])
    target = NotificationSetting.model_validate(token.payload["target"])
    await ctx.services.tokens.use(ctx, token)
    result = await ctx.services.changes.apply(
        ctx, "disable", lambda current: target, expected=expected
    )
    if result.outcome == "stale":
        await ctx.services.replier.notice(
            ctx, "The setting changed", "Someone changed the setting after this card was "
            "posted, so I did not turn notifications off. Here is the current setting.",
            style="warning")
        await commands.status_command(ctx, "")
        return
    await commands.reply_change(ctx, result)
