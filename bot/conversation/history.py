"""`history [n]`: the latest audited changes for the target organization."""

from __future__ import annotations

from bot.conversation.commands import COMMANDS, view
from bot.conversation.dispatch import Context
from bot.models import NotificationSetting
from bot.security import Permission
from bot.store import AuditRecord
from bot.views import cards

DEFAULT_ROWS = 10
MAX_ROWS = 50


def _view(data: dict[str, object] | None) -> cards.SettingView | None:
    return view(NotificationSetting.model_validate(data)) if data else None


def history_row(record: AuditRecord) -> cards.HistoryRow:
    detail = record.reason
    if record.tracking_id:
        detail = f"{detail or ''} (tracking id {record.tracking_id})".strip()
    return cards.HistoryRow(
        at=record.at, who=record.person_email or record.person_id, source=record.source,
        action=record.action, before=_view(record.before), after=_view(record.after),
        outcome=record.outcome, detail=detail,
    )


@COMMANDS.register("history", permission=Permission.READ, usage="history [n]",
                   summary=f"The last n (default {DEFAULT_ROWS}) attempted changes, who and when.",
                   aliases=("audit", "log"))
async def history_command(ctx: Context, args: str) -> None:
    count = DEFAULT_ROWS
    if args.strip():
        if not args.strip().isdigit() or not 1 <= int(args.strip()) <= MAX_ROWS:
            await ctx.services.replier.notice(
                ctx, "Nothing to show",
                f"Say `history` or `history n` with n from 1 to {MAX_ROWS}.",
                style="warning")
            return
        count = int(args.strip())
    records = await ctx.services.store.list_audit(ctx.org_id, limit=count)
    await ctx.services.replier.send(
        ctx,
        cards.history_card(org_name=await ctx.services.directory.org_name(),
                           rows=[history_row(r) for r in records]),
    )
