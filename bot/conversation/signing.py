"""With CHANGES_WITH=admin: whether a person's command may go ahead (they have signed in), and
the sign-in card when they have not — in their 1:1 space, never in a group."""

from __future__ import annotations

import logging

from bot.conversation.context import Context
from bot.errors import NotSignedIn
from bot.views.cards import format_utc
from bot.views.signin import sign_in_card

log = logging.getLogger(__name__)
WHY = ("Changes and reads here are made with your own Webex authorization, so Webex applies "
       "its own rules to you.")
NOT_SIGNED_IN = "You are not signed in with Webex."


async def require_sign_in(ctx: Context, changes: bool) -> None:
    """Before a change (a card stays usable): NotSignedIn when the person has no sign-in.
    Reads need no check first: their first call to Webex raises NotSignedIn itself."""
    flow = ctx.effects.sign_in
    if flow is None or not changes:
        return
    if await flow.tokens.status(ctx.person_id) is None:
        raise NotSignedIn(NOT_SIGNED_IN)


async def offer_sign_in(ctx: Context, lead: str, *, title: str = "Sign in first") -> None:
    """Post the sign-in card (with a fresh single-use state) in the person's 1:1 space; in a
    group, a notice (`title`: why the link was sent) says where it went."""
    flow = ctx.effects.sign_in
    assert flow is not None
    started = await flow.start(ctx.person_id, ctx.room_id)
    card = sign_in_card(why=f"{lead} {WHY}".strip(), url=started.url,
                        expires_at=started.expires_at)
    if ctx.room_type == "direct":
        await ctx.send(card)
        return
    await ctx.send(card, privately=True)
    if ctx.room_type == "group":  # a card press does not say where it was: then no notice
        await ctx.notice(title, f"{lead} I sent you a sign-in link in our 1:1 space.".strip())


async def refuse_not_signed_in(ctx: Context, error: NotSignedIn, audited: str | None) -> None:
    """Nothing was changed: audit the attempt as refused and offer the sign-in."""
    log.info("event %s: %s is not signed in: %s", ctx.event_key, ctx.person_id,
             error.user_message)
    if audited is not None:
        await ctx.changes.refused(ctx, audited, f"not signed in: {error.user_message}",
                                  tracking_id=error.tracking_id)
    await offer_sign_in(ctx, f"{error.user_message} Nothing was changed.")


async def sign_in_line(ctx: Context) -> str | None:
    """whoami's line: signed in and until when (None when sign-in is not in use)."""
    flow = ctx.effects.sign_in
    if flow is None:
        return None
    status = await flow.tokens.status(ctx.person_id)
    if status is None:
        return "Not signed in with Webex: say `sign in` before changing the setting."
    return f"Signed in with Webex until {format_utc(status.until or status.access_until)}."
