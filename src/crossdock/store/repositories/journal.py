"""The delivery journal in SQL: the exactly-once guard for every (flow, target, event id)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from crossdock.ports.store import Delivery
from crossdock.store.errors import DuplicateDeliveryError
from crossdock.store.repositories.base import Transaction, chunks
from crossdock.store.rules import stamp, utc_now
from crossdock.store.tables import delivery_journal as t


class SqlDeliveryJournal:
    """The DeliveryJournal repository on the `cd_delivery_journal` table."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def delivered(self, flow: str, target: str, event_ids: Sequence[str]) -> set[str]:
        """The subset of `event_ids` already journaled for (flow, target): one query per 500 ids."""
        found: set[str] = set()
        for chunk in chunks(list(dict.fromkeys(event_ids))):
            found.update(
                self._tx.read(
                    sa.select(t.c.event_id).where(t.c.flow == flow, t.c.target == target, t.c.event_id.in_(chunk))
                ).scalars()
            )
        return found

    def record(self, deliveries: Sequence[Delivery]) -> None:
        """Journal deliveries; one already journaled raises DuplicateDeliveryError and rolls the unit back."""
        if not deliveries:
            return
        now = utc_now()
        rows = [
            {
                "flow": d.flow,
                "target": d.target,
                "event_id": d.event_id,
                "subject": d.subject,
                "outcome": d.outcome.value,
                "local_id": d.local_id,
                "delivered_at": stamp(d.delivered_at, now),
            }
            for d in deliveries
        ]
        try:
            self._tx.write(sa.insert(t), rows)
        except sa.exc.IntegrityError as error:
            raise DuplicateDeliveryError(
                "A delivery in this batch is already journaled (by another worker or an earlier attempt); "
                "the unit was rolled back: skip the events `delivered()` reports and retry the rest."
            ) from error
