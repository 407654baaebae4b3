"""The bot's own group messages, as Webex's webhook told of them: ids and times, no text.

A bot cannot list a group space's messages (only those that mention it), but Webex notifies
it of each message it posts. The receiver keeps the ids of those in group spaces, so that an
event resumed after a crash can look for a reply it may have posted before
(bot/conversation/replies.py). They matter only within the resume window and are pruned
with the inbox.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from ._base import StoreBase
from .schema import own_messages

_o = own_messages
OwnMessage = tuple[str, str, str | None, datetime]  # message id, room id, parent id, created
CANDIDATES = 20  # a resumed event's replies are among the thread's newest own messages


class OwnMessageMixin(StoreBase):
    async def record_own_message(self, message_id: str, room_id: str, parent_id: str | None,
                                 created: datetime) -> None:
        """Remember one (again: nothing changes)."""
        await self.record_own_messages([(message_id, room_id, parent_id, created)])

    async def record_own_messages(self, rows: list[OwnMessage]) -> None:
        if not rows:
            return
        stmt = self._prepared("record_own_messages", lambda: (
            self._insert(_o).on_conflict_do_nothing(index_elements=["message_id"])))
        params = [{"message_id": m, "room_id": r, "parent_id": p, "created": c}
                  for m, r, p, c in rows]
        await self._run(lambda conn: conn.execute(stmt, params))

    async def own_messages_in(self, room_id: str, parent_id: str | None,
                              since: datetime | None) -> list[str]:
        """The ids of the bot's newest messages in `room_id` (in the thread `parent_id`, when
        given) created at `since` or later, newest first."""
        stmt = select(_o.c.message_id).where(_o.c.room_id == room_id)
        if parent_id is not None:
            stmt = stmt.where(_o.c.parent_id == parent_id)
        if since is not None:
            stmt = stmt.where(_o.c.created >= since)
        stmt = stmt.order_by(_o.c.created.desc()).limit(CANDIDATES)
        return await self._run(lambda conn: [str(row.message_id) for row in conn.execute(stmt)])

    async def prune_own_messages(self, before: datetime) -> int:
        stmt = delete(_o).where(_o.c.created < before)
        return await self._run(lambda conn: conn.execute(stmt).rowcount)
