"""The bot's own group messages, as Webex's webhook told of them: ids and times, no text.

A bot cannot list a group space's messages (only those that mention it), but Webex notifies
it of each message it posts. The receiver keeps the ids of those in group spaces, so that an
event resumed after a crash can look for a reply it may have posted before
(bot/conversation/replies.py): here on PostgreSQL or with an in-memory database, in the
receiver's journal on a SQLite file (bot/receiving/journal.py, the same columns). They matter
only within the resume window and are pruned with the inbox.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from ._base import StoreBase
from .schema import own_messages

_o = own_messages
CANDIDATES = 20  # a resumed event's replies are among the thread's newest own messages


class OwnMessageMixin(StoreBase):
    async def record_own_message(self, message_id: str, room_id: str, parent_id: str | None,
                                 created: datetime) -> None:
        """Remember one (again: nothing changes)."""
        stmt = self._prepared("record_own_message", lambda: (
            self._insert(_o).on_conflict_do_nothing(index_elements=["message_id"])))
        params = {"message_id": message_id, "room_id": room_id, "parent_id": parent_id,
                  "created": created}
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
