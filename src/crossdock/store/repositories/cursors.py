"""Capture cursors in SQL."""

from __future__ import annotations

import sqlalchemy as sa

from crossdock.store.repositories.base import Transaction, upsert
from crossdock.store.rules import utc_now
from crossdock.store.tables import capture_cursors as t


class SqlCursors:
    """The Cursors repository on the `cd_cursors` table."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def get(self, name: str) -> str | None:
        """The stored cursor."""
        value: str | None = self._tx.read(sa.select(t.c.value).where(t.c.name == name)).scalar_one_or_none()
        return value

    def set(self, name: str, value: str) -> None:
        """Store the cursor."""
        upsert(self._tx, t, {"name": name, "value": value, "updated_at": utc_now()}, key=("name",))
