"""The setting commands: status, enable, disable (confirmed by a card), set email, all-locations."""

from __future__ import annotations

import asyncio

from bot.compliance.changes import ChangeResult
from bot.conversation import places
from bot.conversation.actions import ActionTable
from bot.conversation.context import Context
from bot.conversation.dispatch import CommandTable
from bot.conversation.words import ON_WORDS, split_target, valid_email
from bot.models import ConfirmDisable, NotificationSetting
from bot.security import Permission
from bot.store import CardToken
from bot.views import cards

COMMANDS = CommandTable()
ACTIONS = ActionTable()


def view(setting: NotificationSetting) -> cards.SettingView:
    return cards.SettingView(setting.enabled, setting.email, setting.all_locations)


async def bad_input(ctx: Context, action: str, text: str) -> None:
    """Refuse a change for bad input: audited, answered, nothing written."""
    await ctx.changes.refused(ctx, action, text)
    await ctx.notice("Nothing changed", text, style="warning")


async def reply_change(ctx: Context, result: ChangeResult[NotificationSetting]) -> None:
    """The confirmation card for an applied change, or why there is nothing to confirm."""
    org_name = await ctx.org_name()
    result_before, result_after = result.before, result.after
    if result.outcome == "superseded":
        await ctx.notice(
            f"Not applied — {org_name}",
            "I was restarted while making your change, and someone else changed the setting "
            "meanwhile, so I did not write over theirs. Check `status` and ask again if needed.",
            style="warning")
        return
    if result_before == result_after:
        await ctx.notice(
            f"Nothing to change — {org_name}",
            "The emergency call notification setting was already like that.",
        )
        return
    await ctx.send(
        cards.change_card(
            org_name=org_name, before=view(result_before), after=view(result_after),
            changed_by=ctx.who, at=ctx.now(), source=ctx.source,
        ),
    )


async def change(ctx: Context, action: str, **fields: object) -> None:
    result = await ctx.changes.apply(ctx, action, lambda s: s.changed(**fields))
    await reply_change(ctx, result)


@COMMANDS.register("status", permission=Permission.READ, usage="status [at <location>]",
                   summary="The organization's current emergency call notification setting.",
                   aliases=("show", "get"))
async def status_command(ctx: Context, args: str) -> None:
    rest, name = split_target(args)
    if name is not None and not rest:
        if (place := await places.find(ctx, name, None)) is not None:
            await places.status(ctx, place)
        return
    issuing = None
    if ctx.level >= Permission.CHANGE:  # the Edit button's token, while the setting is read
        issuing = asyncio.ensure_future(ctx.tokens.issue(ctx, "menu"))
    try:
        setting = await ctx.setting.get(ctx.org_id)
    finally:
        token = (await issuing).token if issuing is not None else None
    card = cards.status_card(
        org_name=await ctx.org_name(), setting=view(setting),
        checked_at=ctx.now(), edit_token=token,
    )
    message_id = await ctx.send(card)
    if token:
        await ctx.tokens.attach(token, message_id)


@COMMANDS.register("enable", permission=Permission.CHANGE, usage="enable [email] [at <location>]",
                   summary="Turn notifications on, sent to that address (or the stored one).",
                   aliases=("on",), changes=True)
async def enable_command(ctx: Context, args: str) -> None:
    rest, name = split_target(args)
    if name is not None:
        if (place := await places.find(ctx, name, "enable")) is not None:
            await places.enable(ctx, rest, place)
        return
    if args:
        email = valid_email(args)
        if email is None or " " in args.strip():
            await bad_input(ctx, "enable", f"“{args[:200]}” is not a valid email address.")
            return
        await change(ctx, "enable", enabled=True, email=email)
        return
    current = await ctx.setting.get(ctx.org_id)
    if not current.email:
        await bad_input(ctx, "enable", "No notification address is stored yet: use "
                                       "`enable name@example.com`.")
        return
    result = await ctx.changes.apply(
        ctx, "enable", lambda s: s.changed(enabled=True) if s.email else s)
    await reply_change(ctx, result)


@COMMANDS.register("disable", permission=Permission.CHANGE, usage="disable [at <location>]",
                   summary="Turn notifications off (asks you to confirm first).", aliases=("off",),
                   changes=True)
async def disable_command(ctx: Context, args: str) -> None:
    rest, name = split_target(args)
    if name is not None and not rest:
        if (place := await places.find(ctx, name, "disable")) is not None:
            await places.disable(ctx, place)
        return
    if args.strip():
        await bad_input(ctx, "disable", f"`disable` takes nothing but `at <location>`; you "
                                        f"added “{args[:200]}”.")
        return
    current = await ctx.setting.get(ctx.org_id)
    if not current.enabled:
        await ctx.notice("Already off",
                                          "Emergency call notifications are already off.")
        return
    await ask_to_disable(ctx, current, current.changed(enabled=False))


async def ask_to_disable(ctx: Context, shown: NotificationSetting,
                         target: NotificationSetting) -> None:
    """Post the confirmation card; only its requester can confirm it."""
    issued = await ctx.tokens.issue(
        ctx, "confirm_disable", bound_to=ctx.person_id,
        payload={"expected": shown.to_webex(), "target": target.to_webex()},
    )
    card = cards.disable_confirm_card(
        org_name=await ctx.org_name(), setting=view(shown),
        requested_by=ctx.who, token=issued.token, expires_at=issued.expires_at,
    )
    await ctx.tokens.attach(issued.token, await ctx.send(card))


@COMMANDS.register("set email", permission=Permission.CHANGE,
                   usage="set email <address> [at <location>]",
                   summary="Change the notification address only.", changes=True)
async def set_email_command(ctx: Context, args: str) -> None:
    rest, name = split_target(args)
    if name is not None:
        if (place := await places.find(ctx, name, "set email")) is not None:
            await places.set_email(ctx, rest, place)
        return
    email = valid_email(args) if args and " " not in args.strip() else None
    if email is None:
        await bad_input(ctx, "set email", f"“{args[:200]}” is not a valid email address."
                        if args else "Give the address: `set email name@example.com`.")
        return
    await change(ctx, "set email", email=email)


@COMMANDS.register("set all-locations", permission=Permission.CHANGE,
                   usage="set all-locations on|off",
                   summary="Whether the address is notified for calls from every location.",
                   aliases=("set all_locations", "set alllocations"), changes=True)
async def set_all_locations_command(ctx: Context, args: str) -> None:
    if split_target(args)[1] is not None:
        await bad_input(ctx, "set all-locations", "All-locations is the organization's own "
                        "setting: say `set all-locations on` or `off`, without `at`.")
        return
    value = ON_WORDS.get(args.strip().lower())
    if value is None:
        await bad_input(ctx, "set all-locations", "Say `set all-locations on` or `off`.")
        return
    await change(ctx, "set all-locations", all_locations=value)


@ACTIONS.register("cancel", permission=Permission.CHANGE)
async def cancel(ctx: Context, submission: object, token: CardToken) -> None:
    await ctx.tokens.use(ctx, token)
    await ctx.notice("Cancelled", "Nothing was changed.")


@ACTIONS.register("confirm_disable", permission=Permission.CHANGE, audited="disable")
async def confirm_disable(ctx: Context, submission: ConfirmDisable, token: CardToken) -> None:
    await ctx.tokens.use(ctx, token)
    if places.LOCATION in token.payload:
        await places.confirm_disable(ctx, token)
        return
    expected = NotificationSetting.model_validate(token.payload["expected"])
    target = NotificationSetting.model_validate(token.payload["target"])
    result = await ctx.changes.apply(ctx, "disable", lambda current: target, expected=expected)
    if result.outcome == "stale":
        await ctx.notice(
            "The setting changed", "Someone changed the setting after this card was "
            "posted, so I did not turn notifications off. Here is the current setting.",
            style="warning")
        await status_command(ctx, "")
        return
    await reply_change(ctx, result)
