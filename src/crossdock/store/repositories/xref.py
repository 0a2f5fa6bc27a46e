"""Cross-references in SQL: canonical id ↔ (system, local id), per entity."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crossdock.ports.store import CrossReference
from crossdock.store.errors import CrossReferenceConflictError
from crossdock.store.repositories.base import Transaction, upsert
from crossdock.store.rules import stamp, utc_now
from crossdock.store.tables import cross_references as t


def _reference(row: sa.Row[Any]) -> CrossReference:
    return CrossReference(
        entity=row.entity,
        canonical_id=row.canonical_id,
        system=row.system,
        local_id=row.local_id,
        written_hash=row.written_hash,
        updated_at=row.updated_at,
    )


class SqlCrossReferences:
    """The CrossReferences repository on the `cd_xref` table."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def find_local(self, entity: str, canonical_id: str, system: str) -> CrossReference | None:
        """The system's record for a canonical object, if linked."""
        row = self._tx.read(
            sa.select(t).where(t.c.entity == entity, t.c.canonical_id == canonical_id, t.c.system == system)
        ).first()
        return None if row is None else _reference(row)

    def find_canonical(self, entity: str, system: str, local_id: str) -> CrossReference | None:
        """The canonical object a system's record is linked to, if any."""
        row = self._tx.read(
            sa.select(t).where(t.c.entity == entity, t.c.system == system, t.c.local_id == local_id)
        ).first()
        return None if row is None else _reference(row)

    def for_canonical(self, entity: str, canonical_id: str) -> list[CrossReference]:
        """Every system's record for a canonical object, by system name."""
        rows = self._tx.read(
            sa.select(t).where(t.c.entity == entity, t.c.canonical_id == canonical_id).order_by(t.c.system)
        )
        return [_reference(row) for row in rows]

    def link(self, ref: CrossReference) -> None:
        """Create or update the link for (entity, canonical id, system).

        Raises CrossReferenceConflictError (and rolls the unit back) when the local id already belongs to
        another canonical object of the entity: merging golden records is a decision, not a side effect.
        """
        values = {
            "entity": ref.entity,
            "canonical_id": ref.canonical_id,
            "system": ref.system,
            "local_id": ref.local_id,
            "written_hash": ref.written_hash,
            "updated_at": stamp(ref.updated_at, utc_now()),
        }
        try:
            upsert(self._tx, t, values, key=("entity", "canonical_id", "system"))
        except sa.exc.IntegrityError as error:
            raise CrossReferenceConflictError(
                f"{ref.system} {ref.entity} {ref.local_id!r} is already linked to another canonical id; "
                f"unlink or merge it before linking it to {ref.canonical_id!r}."
            ) from error
