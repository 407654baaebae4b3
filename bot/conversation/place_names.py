"""Which location a command names: `at <name>` looked up in the Webex Calling locations, or a
reply saying why none (the closest names, how many an ambiguous name fits, a location that has
no Webex Calling), audited when it was an attempted change."""

from __future__ import annotations

import logging

from bot.compliance.targets import all_locations, location_target, match_location
from bot.conversation.context import Context
from bot.errors import BotError
from bot.webex.locations import CallingLocation

log = logging.getLogger(__name__)


async def refuse(ctx: Context, action: str | None, title: str, text: str,
                 place: CallingLocation | None = None, *, typed: str | None = None) -> None:
    """Say why nothing changed; audit it when it was an attempted change (at `place`, or at
    the name the person `typed` when it named no location: the audit keeps what was asked;
    "" when they named none, a location's row without a name rather than the organization's)."""
    ctx.outbox.refused = True  # a read aimed at no location is refused too
    if action is not None:
        where = location_target(ctx.locations, place) if place is not None else None
        await ctx.changes.refused(ctx, action, text, target=where, location_name=typed)
    await ctx.notice(title, text, style="warning")


async def find(ctx: Context, typed: str, action: str | None) -> CallingLocation | None:
    """The location `typed` names (whole name or unique prefix), or None after saying why."""
    if not typed:
        await refuse(ctx, action, "Which location?",
                     "Name the location after `at`, e.g. `status at \"Riverside Clinic\"`.",
                     typed="")
        return None
    # With personal sign-in names are found in the list the person's own token sees (every
    # read for their command is theirs): a location Webex hides from them is then not found.
    match = match_location(typed, await all_locations(ctx.locations, ctx.org_id))
    if match.found is not None:
        return match.found
    names = ", ".join(f"“{n}”" for n in match.closest)
    shown = typed[:100] + ("…" if len(typed) > 100 else "")
    if match.ambiguous:
        fits = match.fits
        more = f" and {fits - len(match.closest)} more ({fits} in all)" \
            if fits > len(match.closest) else ""
        text = f"“{shown}” fits more than one location: {names}{more}. Say the whole name."
    elif ctx.effects.acting is None and (other := await _without_calling(ctx, typed)):
        # Not with a person's own sign-in: their Calling list is what their token sees, and
        # Webex does not say that its list of every location is narrowed the same way, so a
        # Calling location hidden from them could be called one "without Calling".
        text = (f"A location called “{other}” exists, but it is not enabled for Webex Calling, "
                "so it has no emergency call notification setting.")
    else:
        seen = " your Webex sign-in can see" if ctx.effects.acting is not None else ""
        text = f"No Webex Calling location{seen} is called “{shown}”." + (
            f" The closest: {names}." if names else "")
    await refuse(ctx, action, "Which location?", text, typed=typed)
    return None


async def _without_calling(ctx: Context, typed: str) -> str | None:
    """The name of a location of exactly this name that has no Webex Calling, if one exists.

    The Calling list the bot reads leaves such locations out; Webex's list of every location
    (GET /locations, filtered by name) shows them. It costs one more call, made only here, for
    a name no Calling location has: rare, and the person is waiting for this reply anyway; a
    name that is found never pays it. When it cannot be read (a token without a scope it
    needs, a failure) the reply is the plain "no such location"."""
    wanted = " ".join(typed.split()).casefold()
    try:
        names = await ctx.locations.names_containing(ctx.org_id, typed)
    except BotError as error:
        log.info("event %s: locations without Webex Calling not read (tracking id %s)",
                 ctx.event_key, error.tracking_id)
        return None
    return next((n for n in names if " ".join(n.split()).casefold() == wanted), None)
