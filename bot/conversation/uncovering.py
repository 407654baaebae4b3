"""What an organization-level change does to the locations' coverage, in the bot's words: the
line on the change card, and the confirmation asked before a change that uncovers locations.

The organization's setting alone settles coverage when it is off (no location is covered) or
reaches every location (all-locations on, with an address); otherwise each location's own setting
decides, and the locations are read (the coverage reader) only where the change could have
uncovered some: the line never claims more than was read, and says when it could not be read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.compliance.coverage import CoverageSnapshot, Reason
from bot.compliance.reach import Reach, Uncovering, reach
from bot.conversation.context import Context
from bot.errors import WebexError
from bot.models import NotificationSetting
from bot.views.cards import escape_markdown

log = logging.getLogger(__name__)
NAMED = 10  # locations named on a line; the rest are counted


def _names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:NAMED])
    return shown + (f" and {len(names) - NAMED} more" if len(names) > NAMED else "")


def _plural(n: int, word: str = "location") -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


async def read_snapshot(ctx: Context) -> CoverageSnapshot | WebexError:
    """Every location's coverage as Webex has it now, or why it could not be read."""
    try:
        return await ctx.coverage.read(ctx.org_id)
    except WebexError as error:
        log.info("event %s: coverage not read (tracking id %s)", ctx.event_key,
                 error.tracking_id)
        return error


async def coverage_line(ctx: Context, before: NotificationSetting,
                        after: NotificationSetting) -> tuple[str, bool | None]:
    """The change card's coverage line (the bot's markdown) and its verdict (None: not known)."""
    now = reach(after)
    if now is Reach.NONE:
        return "No location is covered: notifications are off for the organization.", False
    if now is Reach.ALL:
        return ("Every location is covered: its emergency calls email "
                f"{escape_markdown(after.email or '')}, or the location's own address."), True
    why = ("all-locations is on but the organization has no address" if after.all_locations
           else "all-locations is off")
    if reach(before) is not Reach.ALL:  # this change moved no location's coverage
        return (f"Only locations with a notification of their own are covered ({why}): "
                "ask `coverage` for which."), None
    read = await read_snapshot(ctx)
    if isinstance(read, WebexError):
        return (f"Only locations with a notification of their own are covered ({why}); I could "
                "not read the locations back to say which: ask `coverage`."), None
    unreadable = tuple(escape_markdown(c.name) for c in read.counted
                       if c.verdict.reason is Reason.UNREADABLE)
    uncovered = tuple(escape_markdown(c.name) for c in read.counted
                      if not c.covered and c.verdict.reason is not Reason.UNREADABLE)
    total = len(read.counted)
    text = f"{read.covered} of {_plural(total)} covered ({why})"
    if uncovered:
        text += f"; not covered: {_names(uncovered)}"
    if unreadable:  # not known to be uncovered: never listed, nor coloured, as if they were
        text += f"; {_names(unreadable)} could not be read"
    if not read.complete:
        return text + "; a page of the location list could not be read: ask `coverage`.", None
    if unreadable:
        return text + ": ask `coverage`.", None
    return text + ".", not uncovered


@dataclass(frozen=True)
class Question:
    """The confirmation card's words for a change that uncovers locations (plain text)."""

    question: str
    confirm_label: str
    keep_label: str
    consequence: str


def question(shown: NotificationSetting, target: NotificationSetting,
             found: Uncovering | WebexError) -> Question:
    """What to ask before changing `shown` to `target`, with what it would uncover."""
    if shown.all_locations and not target.all_locations:
        asked = ("Turn off email for all locations?", "Turn off email for all locations",
                 "Keep it on")
    else:
        asked = ("Save a change that leaves locations without email?", "Save anyway",
                 "Keep the setting")
    if isinstance(found, WebexError):
        said = (f"I could not read the locations ({found.user_message}), so I cannot tell how "
                "many this would leave without an email notification: every location without "
                "a notification of its own would have none.")
    elif found.unknown is not None:
        said = (f"I cannot tell how many locations this would leave without an email "
                f"notification: {found.unknown}.")
        if found.lost:
            said += (f" Of those I read, {_plural(len(found.lost))} would be: "
                     f"{_names(found.lost)}.")
    else:
        # Not "no notification of their own": a location whose own is on without an address
        # is lost too. What is true of every one of them is that the organization's no longer
        # reaches it.
        said = (f"This leaves {len(found.lost)} of {_plural(found.total)} uncovered: emergency "
                f"calls from {_names(found.lost)} would send no email notification, as the "
                f"organization's would no longer reach {'it' if len(found.lost) == 1 else 'them'}.")
    return Question(*asked, said)
