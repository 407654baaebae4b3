"""`history [n]`: the latest audited changes for the target organization."""

from __future__ import annotations

from bot.conversation import place_names
from bot.conversation.arguments import AT, Args, Takes, number
from bot.conversation.context import Context
from bot.conversation.dispatch import CommandTable
from bot.conversation.setting import view
from bot.models import NotificationSetting
from bot.security import Permission
from bot.store import AuditRecord
from bot.views import cards

COMMANDS = CommandTable()
DEFAULT_ROWS = 10
MAX_ROWS = cards.HISTORY_CARD_ROWS  # one number: what history takes is what its card shows


def _view(data: dict[str, object] | None) -> cards.SettingView | None:
    return view(NotificationSetting.model_validate(data)) if data else None


def history_row(record: AuditRecord) -> cards.HistoryRow:
    detail = record.reason
    if record.repeats and record.repeats > 1:  # one row for the same refusal within a minute
        detail = f"{detail or ''} (the same {record.repeats} times within a minute)".strip()
    if record.tracking_id:
        detail = f"{detail or ''} (tracking id {record.tracking_id})".strip()
    action = record.action
    if record.target_type == "location":  # the location's name when the change was made
        action = f"{action} at {record.target_name or record.target_id or 'no location named'}"
    return cards.HistoryRow(
        at=record.at, who=record.person_email or record.person_id, source=record.source,
        action=action, before=_view(record.before), after=_view(record.after),
        outcome=record.outcome, detail=detail,
    )


@COMMANDS.register("history", permission=Permission.READ,
                   summary=f"The last n (default {DEFAULT_ROWS}) attempted changes, who and when.",
                   aliases=("audit", "log"), takes=Takes(number(MAX_ROWS), options=(AT,)))
async def history_command(ctx: Context, args: Args) -> None:
    count = DEFAULT_ROWS if args.value is None else args.value
    name = args.options.get("at")
    target_id, org_name = None, await ctx.org_name()
    if name is not None:
        place = await place_names.find(ctx, name, None)
        if place is None:
            return
        target_id, org_name = place.id, f"{org_name} · {place.name}"
    audit = ctx.audit
    records = await audit.list_audit(ctx.org_id, limit=count, target_id=target_id)
    total = (await audit.count_audit(ctx.org_id, target_id=target_id)
             if len(records) == count else len(records))
    await ctx.send(cards.history_card(org_name=org_name,
                                      rows=[history_row(r) for r in records], total=total))
