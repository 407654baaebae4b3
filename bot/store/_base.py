"""What the store's parts share: the engine and dialect-specific upserts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine


class StoreBase:
    _engine: AsyncEngine

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._engine.dialect.name

    def _insert(self, table: Table) -> Any:
        """An INSERT that knows ON CONFLICT on this engine (both dialects spell it the same)."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)
