"""The settings form: `edit` posts it prefilled; Save writes it unless the setting moved since."""

from __future__ import annotations

from bot.compliance.reach import may_uncover
from bot.conversation import location_form, place_names
from bot.conversation.actions import ActionTable
from bot.conversation.arguments import AT, Args, Takes
from bot.conversation.context import Context
from bot.conversation.dispatch import CommandTable
from bot.conversation.setting import ask_to_disable, confirm_uncovering, reply_change, view
from bot.email_address import InvalidEmail, parse_email
from bot.models import NotificationSetting, SaveSettings
from bot.security import Permission
from bot.store import CardToken
from bot.views import cards

COMMANDS = CommandTable()
ACTIONS = ActionTable()


@COMMANDS.register("edit", permission=Permission.CHANGE,
                   summary="Change the setting (or a location's) in a form.",
                   aliases=("settings", "configure"), takes=Takes(options=(AT,)))
async def edit_command(ctx: Context, args: Args) -> None:
    if (name := args.options.get("at")) is not None:
        if (place := await place_names.find(ctx, name, None)) is not None:
            await location_form.post_form(ctx, place)
        return
    await post_form(ctx, await ctx.setting.get(ctx.org_id))


async def post_form(ctx: Context, shown: NotificationSetting) -> None:
    """A form prefilled with `shown`, which it remembers to detect a change made meanwhile."""
    issued = await ctx.tokens.issue(ctx, "edit_form", payload={"shown": shown.to_webex()})
    card = cards.edit_form_card(
        org_name=await ctx.org_name(), setting=view(shown),
        token=issued.token, expires_at=issued.expires_at,
    )
    await ctx.tokens.attach(issued.token, await ctx.send(card))


@ACTIONS.register("save_settings", permission=Permission.CHANGE, audited="save")
async def save_form(ctx: Context, submission: SaveSettings, token: CardToken) -> None:
    try:
        email = parse_email(submission.email)
    except InvalidEmail as refused:
        # The card stays usable: the person fixes the field and presses Save again.
        await ctx.changes.refused(ctx, "save", f"the email address is not usable: {refused.reason}")
        await ctx.notice(
            "Please check “email”",
            f"The notification email address is not one I can use. {refused.reason} "
            "Nothing was changed.", style="warning")
        return
    shown = NotificationSetting.model_validate(token.payload["shown"])
    wanted = shown.changed(enabled=submission.enabled, all_locations=submission.allLocations,
                           email=email)
    await ctx.tokens.use(ctx, token)
    if shown.enabled and not wanted.enabled:
        await ask_to_disable(ctx, shown, wanted)
        return
    if may_uncover(shown, wanted):  # e.g. all-locations switched off: confirm first
        if (moved := await confirm_uncovering(ctx, "save", shown, wanted)) is not None:
            await _moved(ctx, moved)
        return
    result = await ctx.changes.apply(ctx, "save", lambda _: wanted, expected=shown)
    if result.outcome == "stale":
        await _moved(ctx, result.before)
        return
    await reply_change(ctx, result)


async def _moved(ctx: Context, now: NotificationSetting) -> None:
    await ctx.notice(
        "The setting changed meanwhile",
        "Someone changed the setting after this form was posted, so I did not save it. "
        "Here is a fresh form with the current setting.", style="warning")
    await post_form(ctx, now)
