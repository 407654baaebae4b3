"""The setting commands: status, enable, disable (confirmed by a card), set email, all-locations
(confirmed by the same card when turning it off uncovers locations)."""

from __future__ import annotations

import asyncio

from bot.compliance.changes import ChangeResult
from bot.compliance.reach import may_uncover
from bot.compliance.reach import uncovering as lost_by
from bot.conversation import place_names, places, uncovering
from bot.conversation.actions import ActionTable
from bot.conversation.arguments import ADDRESS, AT, EMAIL, ON_OFF, Args, Takes
from bot.conversation.context import Context
from bot.conversation.dispatch import CommandTable
from bot.errors import WebexError
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


async def reply_change(ctx: Context, result: ChangeResult[NotificationSetting], *,
                       check_address: bool = False) -> None:
    """The confirmation card for an applied change, or why there is nothing to confirm.
    `check_address`: its first line asks whether the address it now uses is still right, with
    an Edit button (an address the person did not give)."""
    org_name = await ctx.org_name()
    shown_org = cards.escape_markdown(org_name)  # in a notice's markdown
    result_before, result_after = result.before, result.after
    if result.outcome == "superseded":
        await ctx.notice(
            f"Not applied — {shown_org}",
            "I was restarted while making your change, and someone else changed the setting "
            "meanwhile, so I did not write over theirs. Check `status` and ask again if needed.",
            style="warning")
        return
    if result_before == result_after:
        await ctx.notice(
            f"Nothing to change — {shown_org}",
            "The emergency call notification setting was already like that.",
        )
        return
    address = result_after.email if check_address else None
    edit_token = (await ctx.tokens.issue(ctx, "menu")).token if address else None
    coverage, covered = await uncovering.coverage_line(ctx, result_before, result_after)
    message_id = await ctx.send(
        cards.change_card(
            org_name=org_name, before=view(result_before), after=view(result_after),
            changed_by=ctx.who, at=ctx.now(), source=ctx.source,
            address_check=address, edit_token=edit_token, coverage=coverage, covered=covered,
        ),
    )
    if edit_token:
        await ctx.tokens.attach(edit_token, message_id)


async def change(ctx: Context, action: str, **fields: object) -> None:
    """Change these fields; one that would uncover locations asks for confirmation first."""
    if fields.get("all_locations") is False:  # the only change a command can uncover with
        current = await ctx.setting.get(ctx.org_id)
        target = current.changed(**fields)
        if not may_uncover(current, target):
            # Made as read or not at all: moved since, it could uncover without being asked.
            await apply_confirmed(ctx, action, current, target, asked=False)
        elif await confirm_uncovering(ctx, action, current, target) is not None:
            await _moved(ctx, "I read it", "make this change")
        return
    await reply_change(ctx, await ctx.changes.apply(ctx, action, lambda s: s.changed(**fields)))


async def confirm_uncovering(ctx: Context, action: str, shown: NotificationSetting,
                             target: NotificationSetting) -> NotificationSetting | None:
    """A change from `shown` that may uncover locations: the confirmation card naming how many
    (or that it cannot tell), or the change itself when every location was read and none
    would be. The setting as Webex has it now, with nothing asked or changed, when it is no
    longer `shown`: the caller says so in its own words (a fresh form, a stale alert)."""
    snapshot = await uncovering.read_snapshot(ctx)
    if not isinstance(snapshot, WebexError) and snapshot.organization is not None \
            and snapshot.organization != shown:
        return snapshot.organization  # what it would uncover was judged from another setting
    found = snapshot if isinstance(snapshot, WebexError) else lost_by(snapshot, shown, target)
    if not isinstance(found, Exception) and found.unknown is None and not found.lost:
        result = await ctx.changes.apply(ctx, action, lambda current: target, expected=shown)
        if result.outcome == "stale":
            return result.before
        await reply_change(ctx, result)
        return None
    await ask_to_disable(ctx, shown, target, action=action,
                         asked=uncovering.question(shown, target, found))
    return None


@COMMANDS.register("status", permission=Permission.READ,
                   summary="The organization's current emergency call notification setting.",
                   aliases=("show", "get"), takes=Takes(options=(AT,)))
async def status_command(ctx: Context, args: Args) -> None:
    if (name := args.options.get("at")) is not None:
        if (place := await place_names.find(ctx, name, None)) is not None:
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


@COMMANDS.register("enable", permission=Permission.CHANGE,
                   summary="Turn notifications on, sent to that address (or the stored one).",
                   aliases=("on",), changes=True, takes=Takes(EMAIL, options=(AT,)))
async def enable_command(ctx: Context, args: Args) -> None:
    if (name := args.options.get("at")) is not None:
        if (place := await place_names.find(ctx, name, "enable")) is not None:
            await places.enable(ctx, args.value, place)
        return
    if args.value is not None:
        await change(ctx, "enable", enabled=True, email=args.value)
        return
    current = await ctx.setting.get(ctx.org_id)
    if not current.email:
        await bad_input(ctx, "enable", "No notification address is stored yet: use "
                                       "`enable name@example.com`.")
        return
    result = await ctx.changes.apply(
        ctx, "enable", lambda s: s.changed(enabled=True) if s.email else s)
    await reply_change(ctx, result,
                       check_address=not await _set_in_last_change(ctx, result.after.email))


async def _set_in_last_change(ctx: Context, address: str | None) -> bool:
    """Whether the latest change made through the bot set the stored address to `address`:
    then the person has just seen it; otherwise it may be an address nobody remembers."""
    for record in await ctx.audit.list_audit(ctx.org_id, limit=50):
        if (record.outcome != "applied" or record.event_key == ctx.event_key
                or record.target_type != "organization"):
            continue
        before = NotificationSetting.model_validate(record.before or {"enabled": False})
        after = NotificationSetting.model_validate(record.after or {"enabled": False})
        return address is not None and after.email == address and before.email != address
    return False


@COMMANDS.register("disable", permission=Permission.CHANGE,
                   summary="Turn notifications off (asks you to confirm first).", aliases=("off",),
                   changes=True, takes=Takes(options=(AT,)))
async def disable_command(ctx: Context, args: Args) -> None:
    if (name := args.options.get("at")) is not None:
        if (place := await place_names.find(ctx, name, "disable")) is not None:
            await places.disable(ctx, place)
        return
    current = await ctx.setting.get(ctx.org_id)
    if not current.enabled:
        await ctx.notice("Already off",
                                          "Emergency call notifications are already off.")
        return
    await ask_to_disable(ctx, current, current.changed(enabled=False))


async def ask_to_disable(ctx: Context, shown: NotificationSetting,
                         target: NotificationSetting, *, action: str = "disable",
                         asked: uncovering.Question | None = None) -> None:
    """Post the confirmation card (turning notifications off, or `asked`: another change that
    uncovers locations, audited as `action`); only its requester can confirm it."""
    issued = await ctx.tokens.issue(
        ctx, "confirm_disable", bound_to=ctx.person_id,
        payload={"expected": shown.to_webex(), "target": target.to_webex(), "action": action},
    )
    words = {} if asked is None else {
        "question": asked.question, "confirm_label": asked.confirm_label,
        "keep_label": asked.keep_label, "consequence": asked.consequence}
    card = cards.disable_confirm_card(
        org_name=await ctx.org_name(), setting=view(shown),
        requested_by=ctx.who, token=issued.token, expires_at=issued.expires_at, **words,
    )
    await ctx.tokens.attach(issued.token, await ctx.send(card))


@COMMANDS.register("set email", permission=Permission.CHANGE,
                   summary="Change the notification address only.", changes=True,
                   takes=Takes(ADDRESS, required=True, options=(AT,)))
async def set_email_command(ctx: Context, args: Args) -> None:
    if (name := args.options.get("at")) is not None:
        if (place := await place_names.find(ctx, name, "set email")) is not None:
            await places.set_email(ctx, args.value, place)
        return
    await change(ctx, "set email", email=args.value)


@COMMANDS.register("set all-locations", permission=Permission.CHANGE,
                   summary="Whether the address is notified for calls from every location.",
                   aliases=("set all_locations", "set alllocations"), changes=True,
                   takes=Takes(ON_OFF, required=True))  # the organization's own: no `at`
async def set_all_locations_command(ctx: Context, args: Args) -> None:
    await change(ctx, "set all-locations", all_locations=args.value)


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
    await apply_confirmed(
        ctx, token.payload.get("action", "disable"),  # cards posted before it had one: disable
        NotificationSetting.model_validate(token.payload["expected"]),
        NotificationSetting.model_validate(token.payload["target"]))


async def apply_confirmed(ctx: Context, action: str, expected: NotificationSetting,
                          target: NotificationSetting, *, asked: bool = True) -> None:
    """Make a change that was asked about (or, `asked` False, found to uncover nothing),
    unless the setting moved since it was shown (read)."""
    result = await ctx.changes.apply(ctx, action, lambda current: target, expected=expected)
    if result.outcome == "stale":
        await _moved(ctx, "this card was posted" if asked else "I read it",
                     "turn notifications off" if action == "disable" else "make this change")
        return
    await reply_change(ctx, result)


async def _moved(ctx: Context, since: str, what: str) -> None:
    await ctx.notice(
        "The setting changed", f"Someone changed the setting after {since}, so I did not "
        f"{what}. Here is the current setting.", style="warning")
    await status_command(ctx, Args())
