"""`watch` and `watch off` in a space, and the Restore button of the watch's alert cards."""

from __future__ import annotations

from typing import Any

from bot.compliance.reach import may_uncover
from bot.conversation import places
from bot.conversation.actions import ActionTable
from bot.conversation.arguments import Args, Takes, Value, quoted
from bot.conversation.context import Context, WatchControl
from bot.conversation.dispatch import CommandTable
from bot.conversation.setting import ask_to_disable, confirm_uncovering, reply_change
from bot.models import NotificationSetting, RestoreChange
from bot.security import Permission
from bot.store import CardToken
from bot.views.cards import format_utc
from bot.webex.locations import CallingLocation, LocationSetting

COMMANDS = CommandTable()
ACTIONS = ActionTable()
OFF_WORDS = frozenset({"off", "stop", "no"})
ON_WORDS = frozenset({"on", "start"})


def _watch_word(text: str) -> bool:
    """True to watch, False to stop; anything else is not understood."""
    word = text.strip().lower()
    if word in OFF_WORDS | ON_WORDS:
        return word in ON_WORDS
    raise ValueError(f"I did not understand {quoted(text)}: say `watch` to be told of changes "
                     "here, or `watch off` to stop.")


WATCH_WORD = Value("off", _watch_word)


def _control(ctx: Context) -> WatchControl:
    control = ctx.effects.watch
    assert control is not None, "the server wires the watch"
    return control


def _every(seconds: float) -> str:
    minutes = seconds / 60
    if minutes >= 1 and minutes == int(minutes):
        return f"{int(minutes)} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} seconds"


@COMMANDS.register("watch", permission=Permission.CHANGE,
                   summary="This space is told of every change to the setting or a location's "
                           "(`watch off` stops it).", takes=Takes(WATCH_WORD))  # fmt: skip
async def watch_command(ctx: Context, args: Args) -> None:
    control = _control(ctx)
    org_name = await ctx.org_name()
    if args.value is False:
        if await control.store.unwatch_space(ctx.org_id, ctx.room_id, ctx.now()):
            await ctx.notice(f"Not watching — {org_name}",
                             "This space is no longer told of changes to the setting.")  # fmt: skip
        else:
            await ctx.notice(f"Not watching — {org_name}", "This space was not watching.")
        return
    every = _every(control.interval)
    if not await control.store.watch_space(ctx.org_id, ctx.room_id, ctx.person_id, ctx.now()):
        state = await control.store.watch_state(ctx.org_id)
        last = (f"The last check ran {format_utc(state.checked_at)} ({state.outcome})."
                if state.checked_at else "No check has run yet.")  # fmt: skip
        await ctx.notice(f"Already watching — {org_name}",
                         f"This space is already told of every change (checked every {every}). "
                         f"{last}")  # fmt: skip
        return
    control.poke()
    await ctx.notice(
        f"Watching — {org_name}",
        f"This space is now told of every change to the emergency call notification setting "
        f"and to each location's, checked every {every}: an alert when coverage breaks, a "
        "notice otherwise. The first check takes the setting as it is now. `watch off` stops it.",
        style="good",
    )


@ACTIONS.register("watch_restore", permission=Permission.CHANGE, audited="restore")
async def watch_restore(ctx: Context, submission: RestoreChange, token: CardToken) -> None:
    """Put back what the alert's change replaced, through the usual path: the presser's roles
    (the registration), the single-use token, the confirmation when it turns notifications
    off, and a refusal when the setting changed again since the alert."""
    payload = token.payload
    await ctx.tokens.use(ctx, token)
    if payload["target_type"] == "location":
        await _restore_location(ctx, payload)
        return
    expected = NotificationSetting.model_validate(payload["after"])
    target = expected.changed(**payload["restore"])
    if expected.enabled and not target.enabled:  # turning notifications off: confirm first
        if await ctx.setting.get(ctx.org_id) != expected:
            await _stale(ctx)
        else:
            await ask_to_disable(ctx, expected, target)
        return
    if may_uncover(expected, target):  # e.g. all-locations back off: confirm first
        if await confirm_uncovering(ctx, "restore", expected, target) is not None:
            await _stale(ctx)
        return
    result = await ctx.changes.apply(ctx, "restore", lambda current: target, expected=expected)
    if result.outcome == "stale":
        await _stale(ctx)
        return
    await reply_change(ctx, result)


async def _restore_location(ctx: Context, payload: dict[str, Any]) -> None:
    place = CallingLocation(id=payload["target_id"], name=payload["target_name"])
    expected = LocationSetting.model_validate(payload["after"])
    target = expected.changed(**payload["restore"])
    if expected.enabled and not target.enabled:  # the location's confirmation card
        full = await ctx.locations.get(ctx.org_id, place.id)
        if full.changed(organization=None) != expected:
            await _stale(ctx)
            return
        await places.ask_to_disable(ctx, place, expected,
                                    full.organization or await ctx.setting.get(ctx.org_id))
        return
    result = await places.change(ctx, "restore", place, lambda current: target,
                                 expected=expected)  # fmt: skip
    if result.outcome == "stale":
        await _stale(ctx)
        return
    await places.reply_change(ctx, place, result)


async def _stale(ctx: Context) -> None:
    await ctx.notice("The setting changed again", "The setting was changed again after this "
                     "alert, so I did not restore it. Ask `status` for the current setting.",
                     style="warning")  # fmt: skip
