"""`edit at <location>`: the location's form, and its Save (refused when stale, like the
organization's form; turning the location's notification off asks to confirm first)."""

from __future__ import annotations

from bot.conversation.actions import ActionTable
from bot.conversation.context import Context
from bot.conversation.place_names import refuse
from bot.conversation.places import (
    LOCATION,
    ask_to_disable,
    change,
    place_of,
    reply_change,
    setting_view,
    target,
)
from bot.conversation.words import valid_email
from bot.models import SaveLocation
from bot.security import Permission
from bot.store import CardToken
from bot.views.location_cards import location_form_card
from bot.webex.locations import CallingLocation, LocationSetting

ACTIONS = ActionTable()


async def post_form(ctx: Context, place: CallingLocation,
                    shown: LocationSetting | None = None) -> None:
    shown = shown or await target(ctx, place).read(ctx.org_id)
    issued = await ctx.tokens.issue(ctx, "location_form", payload={
        "shown": shown.to_webex(), LOCATION: {"id": place.id, "name": place.name}})
    card = location_form_card(
        org_name=await ctx.org_name(), location_name=place.name, setting=setting_view(shown),
        token=issued.token, expires_at=issued.expires_at)
    await ctx.tokens.attach(issued.token, await ctx.send(card))


@ACTIONS.register("save_location", permission=Permission.CHANGE, audited="save")
async def save_location(ctx: Context, submission: SaveLocation, token: CardToken) -> None:
    place = place_of(token)
    email = valid_email(submission.email) if submission.email else None
    if email is None:  # the card stays usable: fix the field and press Save again
        await refuse(ctx, "save", "Please check “email”", "The location's email address is "
                     "missing or not a valid address. Nothing was changed.", place)
        return
    shown = LocationSetting.model_validate(token.payload["shown"])
    wanted = shown.changed(enabled=submission.enabled, email=email)
    await ctx.tokens.use(ctx, token)
    if shown.enabled and not wanted.enabled:
        await ask_to_disable(ctx, place, shown, await ctx.setting.get(ctx.org_id))
        return
    result = await change(ctx, "save", place, lambda _: wanted, expected=shown)
    if result.outcome == "stale":
        await ctx.notice("The setting changed meanwhile", f"Someone changed {place.name}'s "
                         "setting after this form was posted, so I did not save it. Here is a "
                         "fresh form.", style="warning")
        await post_form(ctx, place, result.before)
        return
    await reply_change(ctx, place, result)
