"""Which Webex webhooks this deployment created: their ids, the only ones it ever changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from ._base import StoreBase
from .schema import owned_webhooks

_w = owned_webhooks


class WebhookMixin(StoreBase):
    async def owned_webhook_ids(self) -> set[str]:
        """The ids of the webhooks this deployment created or adopted."""
        stmt = select(_w.c.id)
        return await self._run(lambda conn: {str(row.id) for row in conn.execute(stmt)})

    async def own_webhook(self, webhook_id: str, resource: str, event: str, target_url: str,
                          at: datetime) -> None:
        """Remember a webhook as this deployment's (again: its target is brought up to date)."""
        stmt = self._insert(_w).values(id=webhook_id, resource=resource, event=event,
                                       target_url=target_url, recorded_at=at)
        stmt = stmt.on_conflict_do_update(index_elements=["id"],
                                          set_={"target_url": stmt.excluded.target_url})
        await self._run(lambda conn: conn.execute(stmt))

    async def disown_webhook(self, webhook_id: str) -> None:
        """Forget a webhook this deployment deleted, or that no longer exists at Webex."""
        stmt = delete(_w).where(_w.c.id == webhook_id)
        await self._run(lambda conn: conn.execute(stmt))
