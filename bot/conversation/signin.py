"""`sign in` and `sign out`: personal sign-in, so the bot acts with the admin's own token."""

from __future__ import annotations

from bot.conversation.arguments import Args
from bot.conversation.context import Context
from bot.conversation.dispatch import CommandTable
from bot.conversation.signing import offer_sign_in
from bot.security import Permission
from bot.views.cards import escape_markdown, format_utc

COMMANDS = CommandTable()
OFF = ("Personal sign-in is not in use here: I change the setting with my Service App "
       "(the operator set CHANGES_WITH=service-app).")


@COMMANDS.register("sign in", permission=Permission.ANYONE,
                   summary="Sign in with your own Webex account (when changes use it).",
                   aliases=("login", "signin", "log in"))
async def sign_in_command(ctx: Context, args: Args) -> None:
    flow = ctx.effects.sign_in
    if flow is None:
        await ctx.notice("Sign-in not needed", OFF)
        return
    if ctx.access is None or not ctx.access.same_org:
        await ctx.notice("Not allowed", f"Only people of {await ctx.org_name()} can sign in "
                         "here.", style="attention")
        return
    status = await flow.tokens.status(ctx.person_id)
    lead = "" if status is None else (
        f"You are signed in until {format_utc(status.until or status.access_until)}; signing "
        "in again replaces it.")
    await offer_sign_in(ctx, lead, title="Sign-in link sent")  # asked for: not "first"


@COMMANDS.register("sign out", permission=Permission.ANYONE,
                   summary="Revoke your Webex sign-in at Webex and make me forget it.",
                   aliases=("logout", "signout", "log out"))
async def sign_out_command(ctx: Context, args: Args) -> None:
    flow = ctx.effects.sign_in
    if flow is None:
        await ctx.notice("Sign-in not in use", OFF)
        return
    outcome = await flow.tokens.revoke(ctx.person_id)
    if outcome is None:
        await ctx.notice("Not signed in", "You were not signed in, so there was nothing to "
                         "forget.")
    elif outcome.revoked:
        await ctx.notice("Signed out", "Webex revoked your authorization of this bot, and I "
                         "deleted my copy of your Webex tokens.", style="good")
    else:
        tracking = f"tracking id {outcome.tracking_id}" if outcome.tracking_id \
            else "no tracking id"
        said = f" What Webex said: {escape_markdown(outcome.problem)}" if outcome.problem \
            else ""
        await ctx.notice("Signed out here only", f"I forgot your tokens, but Webex did not "
                         f"confirm the revocation ({tracking}): remove the Kari's Law bot from "
                         f"your Webex account's authorized apps.{said}", style="warning")
