"""The text-command table (handlers register with the permission they need), the command a
person typed, and the permission check every command and card goes through."""

from __future__ import annotations

import html as html_lib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.conversation.arguments import NOTHING, Args, NotUnderstood, Takes
from bot.conversation.context import Context
from bot.conversation.signing import refuse_not_signed_in, require_sign_in
from bot.conversation.words import split_target
from bot.errors import BotError, NotSignedIn
from bot.security import Permission
from bot.views.cards import escape_markdown

log = logging.getLogger(__name__)
CommandHandler = Callable[[Context, Args], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    name: str
    handler: CommandHandler
    permission: Permission
    summary: str
    aliases: tuple[str, ...] = ()
    changes: bool = False  # attempted changes are audited
    takes: Takes = NOTHING  # what it takes after its name; anything else is refused
    # With personal sign-in a Location Administrator may run it: Webex, asked with their own
    # token, decides what they see (as for the commands aimed `at <location>`).
    location_admins: bool = False

    @property
    def usage(self) -> str:
        return f"{self.name} {self.takes.usage}".strip()


@dataclass
class CommandTable:
    """Text commands by name and alias; help is generated from the same table."""

    commands: dict[str, Command] = field(default_factory=dict)
    _by_word: dict[str, Command] = field(default_factory=dict)

    def register(
        self,
        name: str,
        *,
        permission: Permission,
        summary: str,
        aliases: tuple[str, ...] = (),
        changes: bool = False,
        takes: Takes = NOTHING,
        location_admins: bool = False,
    ) -> Callable[[CommandHandler], CommandHandler]:
        def add(handler: CommandHandler) -> CommandHandler:
            command = Command(name, handler, permission, summary, aliases, changes, takes,
                              location_admins)
            self.commands[name] = command
            for word in (name, *aliases):
                self._by_word[word] = command
            return handler

        return add

    def include(self, *tables: CommandTable) -> CommandTable:
        """This table with every command of `tables` added (a name or alias taken twice is a
        programming error)."""
        for table in tables:
            for command in table.commands.values():
                clash = {command.name, *command.aliases} & set(self._by_word)
                assert not clash, f"command words registered twice: {clash}"
                self.commands[command.name] = command
                for word in (command.name, *command.aliases):
                    self._by_word[word] = command
        return self

    def find(self, text: str) -> tuple[Command | None, str]:
        """The command for `text` (its first two words, else its first) and its arguments."""
        words = text.split()
        for count in (2, 1):
            key = " ".join(words[:count]).lower()
            if len(words) >= count and key in self._by_word:
                return self._by_word[key], " ".join(words[count:])
        return None, text

    def available_to(self, level: Permission) -> list[Command]:
        return [c for c in self.commands.values() if level >= c.permission]


_MENTION = re.compile(r"<spark-mention[^>]*data-object-id=\"([^\"]+)\"[^>]*>(.*?)</spark-mention>",
                      re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def command_text(
    *, text: str | None, html: str | None, room_type: str | None, bot_id: str, bot_name: str
) -> str:
    """The command a person typed: the bot's mention removed, a leading '/' and spaces ignored."""
    body = text or ""
    if room_type != "direct":
        if html and _MENTION.search(html):
            stripped = _MENTION.sub(
                lambda m: "" if m.group(1) == bot_id else m.group(2), html
            )
            body = html_lib.unescape(_TAG.sub(" ", stripped))
        else:
            for name in (bot_name, bot_name.split(" ")[0]):
                if name and body.lower().startswith(name.lower()):
                    body = body[len(name):]
                    break
    body = " ".join(body.split())
    return body[1:].lstrip() if body.startswith("/") else body


async def run_command(ctx: Context, command: Command, text: str) -> None:
    """The permission check every command goes through, then what it was given (`text`, the
    words after its name) read as it declares, then the command; errors become replies."""
    named = split_target(text)[1]  # audited with a refusal, and what a location admin may do
    if not await authorize(ctx, command.permission, command.name if command.changes else None,
                           location_name=named or None,
                           at_location=named is not None or command.location_admins):
        ctx.metrics.command(command.name, "refused")
        return
    try:
        args = command.takes.parse(text)
    except NotUnderstood as refused:
        ctx.metrics.command(command.name, "not_understood")
        await not_understood(ctx, command, refused.reason)
        return
    try:
        await require_sign_in(ctx, command.changes)
        await command.handler(ctx, args)
    except NotSignedIn as error:
        ctx.metrics.command(command.name, "refused")
        await refuse_not_signed_in(ctx, error, command.name if command.changes else None)
        return
    except BotError as error:
        ctx.metrics.command(command.name, "failed")
        log.info("event %s: %s failed: %s (tracking id %s)", ctx.event_key, command.name,
                 error.user_message, error.tracking_id)
        await ctx.error(error)
        return
    ctx.metrics.command(command.name, "refused" if ctx.outbox.refused else "ok")


async def not_understood(ctx: Context, command: Command, reason: str) -> None:
    """Refuse a command given words it does not take: why, its usage, and nothing changed."""
    log.info("event %s: %s not understood: %s", ctx.event_key, command.name, reason)
    if command.changes:
        await ctx.changes.refused(ctx, command.name, reason)
    await ctx.notice("Nothing changed" if command.changes else "I did not understand that",
                     f"{reason} Usage: `{command.usage}`", style="warning")


async def authorize(ctx: Context, needed: Permission, audited_action: str | None, *,
                    location_name: str | None = None, at_location: bool = False) -> bool:
    """True if `ctx`'s person may do what needs `needed`; otherwise refuse with a reply.
    With personal sign-in a Location Administrator may act `at_location`: Webex, asked with
    their own token, decides which locations."""
    if needed == Permission.ANYONE:
        return True
    if ctx.access is not None and ctx.access.allows(needed):
        return True
    local = ctx.effects.sign_in is not None and ctx.access is not None \
        and ctx.access.location_admin
    if local and at_location:
        return True
    org_name = await ctx.org_name()
    why = _refusal(ctx, needed, local, org_name)
    log.info("event %s: refused %s to %s: %s", ctx.event_key, needed.name, ctx.person_id, why)
    if audited_action is not None:
        await ctx.changes.refused(ctx, audited_action, why, location_name=location_name)
    # The card shows the organization's name (set by its admins) as text, never as markdown.
    await ctx.notice("Not allowed", _refusal(ctx, needed, local, escape_markdown(org_name)),
                     style="attention")
    return False


def _refusal(ctx: Context, needed: Permission, local: bool, org_name: str) -> str:
    """Why `needed` is refused to `ctx`'s person, in words for them."""
    if local:
        return ("As a Location Administrator you can use the commands for your locations "
                "(`coverage`, `status at <location>`, `set email <address> at <location>`, …); the "
                f"organization's own setting needs a Full or User Administrator of {org_name}.")
    if ctx.access is None and ctx.effects.admin_trouble():
        return ("I cannot reach the Webex admin API right now (my admin token is not usable), "
                "so I did not do it. The bot's operator has been told in the logs.")
    if ctx.access is None:
        return ("I could not check your administrator roles with Webex, so I did not do it. "
                "Please try again in a minute.")
    return ctx.access.refusal(needed, org_name)
