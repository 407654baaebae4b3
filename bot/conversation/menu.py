"""Help, whoami, the welcome and the menu's buttons; and the complete tables, joined by name
from each feature's own (help is generated from them)."""

from __future__ import annotations

from bot.conversation import coverage, forms, history, location_form, setting, signin, watch
from bot.conversation.actions import ActionHandler, ActionTable
from bot.conversation.arguments import Args
from bot.conversation.context import Context
from bot.conversation.dispatch import Command, CommandTable, run_command
from bot.conversation.signing import sign_in_line
from bot.models import MENU_ACTIONS, ShowCommand
from bot.security import Permission
from bot.store import CardToken
from bot.views import cards

OWN = CommandTable()


@OWN.register("help", permission=Permission.ANYONE,
              summary="What you can ask me.", aliases=("?", "hi", "hello", "menu"))
async def help_command(ctx: Context, args: Args) -> None:
    await send_help(ctx, "What I can do for you", "")


async def send_help(
    ctx: Context, title: str, intro: str, *, level: Permission | None = None
) -> None:
    """Help for what `level` (default: the sender's) may use; the welcome shows everything."""
    level = ctx.level if level is None else level
    buttons = [(label, name) for label, name, needed in (
        ("Status", "status", Permission.READ), ("Edit", "edit", Permission.CHANGE),
        ("Who am I?", "whoami", Permission.ANYONE),
    ) if level >= needed]
    issued = await ctx.tokens.issue(ctx, "menu")
    intro = intro or (
        "I manage your organization's Kari's Law emergency call notifications: the email sent "
        "whenever someone calls emergency services."
    )
    card = cards.help_card(
        title=title, intro=intro,
        commands=[(c.usage, c.summary) for c in offered(ctx, level)],
        buttons=buttons, token=issued.token,
    )
    await ctx.tokens.attach(issued.token, await ctx.send(card))


def offered(ctx: Context, level: Permission) -> list[Command]:
    """What `level` may use here: `sign in` and `sign out` only when changes use them."""
    return [c for c in COMMANDS.available_to(level)
            if ctx.effects.sign_in is not None or c.name not in signin.COMMANDS.commands]


async def welcome(ctx: Context) -> None:
    """What the bot says when it is added to a space: everything, for whoever reads it."""
    await send_help(
        ctx, "Hello! I manage Kari's Law emergency call notifications",
        "Administrators of the organization can check and change the email sent for every "
        "emergency call, right here. Mention me in group spaces, or message me directly.",
        level=Permission.CHANGE,
    )


@OWN.register("whoami", permission=Permission.ANYONE,
              summary="Your administrator roles as I see them, and what they allow.",
              aliases=("me",))
async def whoami_command(ctx: Context, args: Args) -> None:
    access = ctx.access
    person = access.person if access else None
    org_name = await ctx.org_name()
    org_text = roles_unseen = None
    if access is None:
        org_text = roles_unseen = "Unknown: Webex could not tell me just now"
    elif not access.same_org:
        # Roles are read with this organization's admin identity, which sees the roles of its
        # own people only: another organization's are hidden, not absent.
        org_text = f"Another organization, not {org_name} (the one I manage)"
        roles_unseen = f"Not visible to me: I see the roles of {org_name}'s people only"
    card = cards.whoami_card(
        display_name=(person.displayName if person else None) or ctx.who,
        email=(person.email if person else None) or ctx.person_email,
        org_name=org_name, org_text=org_text, roles_unseen=roles_unseen,
        roles=list(access.role_names) if access and access.same_org else [],
        allowed=[c.usage for c in offered(ctx, ctx.level)],
        sign_in=await sign_in_line(ctx),
    )
    await ctx.send(card)


COMMANDS = CommandTable().include(setting.COMMANDS, coverage.COMMANDS, forms.COMMANDS,
                                  history.COMMANDS, signin.COMMANDS, watch.COMMANDS, OWN)


def _show(name: str) -> ActionHandler:
    """A menu button: the command it names, as if typed (its permission checked first)."""
    async def show(ctx: Context, submission: ShowCommand, token: CardToken) -> None:
        await ctx.tokens.use(ctx, token)
        await run_command(ctx, COMMANDS.commands[name], "")

    return show


BUTTONS = ActionTable()
for _name in MENU_ACTIONS:
    BUTTONS.register(_name, permission=COMMANDS.commands[_name].permission,
                     as_command=True)(_show(_name))

ACTIONS = ActionTable().include(setting.ACTIONS, forms.ACTIONS, location_form.ACTIONS,
                                watch.ACTIONS, BUTTONS)
