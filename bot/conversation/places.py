"""The setting commands aimed at a location: `status|enable|disable|set email|edit at <name>`.

A location's PUT carries exactly its two fields (read, modify, write), serialized per location;
every attempt is audited with the location as its target. A name that does not name exactly one
Webex Calling location changes nothing, and the reply offers the closest names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.compliance.changes import ChangeResult
from bot.compliance.coverage import Verdict, judge
from bot.compliance.targets import SettingTarget, location_target
from bot.conversation.actions import LOCATION_KEY
from bot.conversation.context import Context
from bot.conversation.place_names import refuse
from bot.errors import WebexError
from bot.models import NotificationSetting
from bot.store import CardToken
from bot.views import cards
from bot.views.location_cards import location_change_card
from bot.webex.locations import CallingLocation, LocationSetting

log = logging.getLogger(__name__)
LOCATION = LOCATION_KEY  # the token payload key naming the location a card is about


def _on(value: bool) -> str:
    return "On" if value else "Off"


def setting_view(setting: LocationSetting) -> cards.SettingView:
    return cards.SettingView(setting.enabled, setting.email, False)


def target(ctx: Context, place: CallingLocation) -> SettingTarget[LocationSetting]:
    return location_target(ctx.locations, place)


async def _read(ctx: Context, place: CallingLocation
                ) -> tuple[LocationSetting, NotificationSetting, Verdict]:
    """The location's own setting and the organization's as Webex has them now (the
    organization's from the location's answer when it carries it), and their verdict."""
    own = await ctx.locations.get(ctx.org_id, place.id)
    org = own.organization or await ctx.setting.get(ctx.org_id)
    return own, org, judge(org, own)


async def status(ctx: Context, place: CallingLocation) -> None:
    own, org, verdict = await _read(ctx, place)
    if verdict.covered:
        text = (f"Covered: emergency calls from {place.name} email {verdict.email} "
                f"({verdict.reason}).")
    else:
        text = f"Not covered: {verdict.reason}."
    every = "on" if org.all_locations else "off"
    facts = [
        cards.Fact("Location's own notification", _on(own.enabled)),
        cards.Fact("Location's notification email", own.email or cards.NONE_TEXT),
        cards.Fact("Organization", f"{_on(org.enabled)}, to {org.email or cards.NONE_TEXT}; "
                                   f"all locations {every}"),
        cards.Fact("Checked", cards.format_utc(ctx.now())),
    ]
    await ctx.send(cards.notice_card(
        title=f"{place.name} — {await ctx.org_name()}", text=text,
        style="good" if verdict.covered else "attention", facts=facts))


async def coverage_now(ctx: Context, place: CallingLocation) -> tuple[str, bool | None]:
    """The location's coverage as Webex now has it (read back: its own setting and the
    organization's), one line of the bot's markdown; or that it could not be read."""
    name = cards.escape_markdown(place.name)
    try:
        verdict = (await _read(ctx, place))[2]
    except WebexError as error:
        log.info("event %s: %s not read back for its coverage (tracking id %s)",
                 ctx.event_key, place.id, error.tracking_id)
        tracking = f" (Webex tracking ID {cards.escape_markdown(error.tracking_id)})" \
            if error.tracking_id else ""
        return (f"{name}: I could not read it back{tracking}, so I cannot say whether it is "
                f"covered: ask “status at {name}”."), None
    if verdict.covered:
        return (f"{name}: covered — emergency calls email "
                f"{cards.escape_markdown(verdict.email or '')} ({verdict.reason})."), True
    return f"{name}: not covered — {verdict.reason}.", False


async def reply_change(ctx: Context, place: CallingLocation,
                       result: ChangeResult[LocationSetting]) -> None:
    before, after = result.before, result.after
    if result.outcome == "superseded":
        await ctx.notice(f"Not applied — {place.name}", "I was restarted while making your "
                         "change, and someone else changed the location meanwhile, so I did not "
                         "write over theirs.", style="warning")
        return
    if before == after:
        await ctx.notice(f"Nothing to change — {place.name}",
                         "The location's setting was already like that.")
        return
    coverage, covered = await coverage_now(ctx, place)
    await ctx.send(location_change_card(
        org_name=await ctx.org_name(), location_name=place.name, before=setting_view(before),
        after=setting_view(after), changed_by=ctx.who, at=ctx.now(), source=ctx.source,
        coverage=coverage, covered=covered))


async def change(ctx: Context, action: str, place: CallingLocation,
                 modify: Callable[[LocationSetting], LocationSetting],
                 expected: LocationSetting | None = None) -> ChangeResult[LocationSetting]:
    return await ctx.changes.change(ctx, action, modify, target=target(ctx, place),
                                    expected=expected)


async def enable(ctx: Context, email: str | None, place: CallingLocation) -> None:
    """`enable [email] at <location>` (the address already read: arguments.EMAIL)."""
    if email is not None:
        await reply_change(ctx, place, await change(
            ctx, "enable", place, lambda s: s.changed(enabled=True, email=email)))
        return
    if not (await target(ctx, place).read(ctx.org_id)).email:
        await refuse(ctx, "enable", "Nothing changed", f"{place.name} has no address of its own "
                     f"yet: use `enable name@example.com at {place.name}`.", place)
        return
    await reply_change(ctx, place, await change(
        ctx, "enable", place, lambda s: s.changed(enabled=True) if s.email else s))


async def set_email(ctx: Context, email: str, place: CallingLocation) -> None:
    """`set email <address> at <location>` (the address already read: arguments.ADDRESS)."""
    await reply_change(ctx, place, await change(ctx, "set email", place,
                                                lambda s: s.changed(email=email)))


def consequence(place: CallingLocation, org: NotificationSetting, off: LocationSetting) -> str:
    """What turning the location's own notification off leaves, at this moment."""
    verdict = judge(org, off)
    if verdict.covered:
        return (f"If you turn {place.name}'s own notification off, emergency calls from "
                f"{place.name} then notify only through the organization-wide address, "
                f"{verdict.email}.")
    return (f"If you turn {place.name}'s own notification off, emergency calls from {place.name} "
            f"then send no email notification at all: {verdict.reason}.")


async def disable(ctx: Context, place: CallingLocation) -> None:
    full = await ctx.locations.get(ctx.org_id, place.id)
    current = full.changed(organization=None)
    if not current.enabled:
        await ctx.notice("Already off", f"{place.name}'s own notification is already off.")
        return
    await ask_to_disable(ctx, place, current, full.organization or await ctx.setting.get(
        ctx.org_id))


async def ask_to_disable(ctx: Context, place: CallingLocation, shown: LocationSetting,
                         org: NotificationSetting) -> None:
    off = shown.changed(enabled=False)
    issued = await ctx.tokens.issue(
        ctx, "confirm_disable", bound_to=ctx.person_id,
        payload={"expected": shown.to_webex(), "target": off.to_webex(),
                 LOCATION: {"id": place.id, "name": place.name}})
    card = cards.disable_confirm_card(
        org_name=f"{await ctx.org_name()} · {place.name}", setting=setting_view(shown),
        requested_by=ctx.who, token=issued.token, expires_at=issued.expires_at,
        consequence=consequence(place, org, off))
    await ctx.tokens.attach(issued.token, await ctx.send(card))


def place_of(token: CardToken) -> CallingLocation:
    return CallingLocation.model_validate(token.payload[LOCATION])


async def confirm_disable(ctx: Context, token: CardToken) -> None:
    """The confirmation card's button, for a location (after the token was used)."""
    place = place_of(token)
    expected = LocationSetting.model_validate(token.payload["expected"])
    wanted = LocationSetting.model_validate(token.payload["target"])
    result = await change(ctx, "disable", place, lambda _: wanted, expected=expected)
    if result.outcome == "stale":
        await ctx.notice("The setting changed", f"Someone changed {place.name}'s setting after "
                         "this card was posted, so I did not turn it off.", style="warning")
        await status(ctx, place)
        return
    await reply_change(ctx, place, result)
