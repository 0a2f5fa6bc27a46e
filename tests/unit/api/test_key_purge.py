"""The expired-key purge runs in batches: back to back while a backlog is left, then once per interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crossdock.api.key_purge import ExpiredKeyPurge
from crossdock.ports.api import IdempotencyRecord
from crossdock.store import MemoryStore

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _store_with(expired: int, live: int) -> MemoryStore:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        for n in range(expired + live):
            expires = NOW - timedelta(minutes=1) if n < expired else NOW + timedelta(hours=1)
            uow.api.put_idempotent(IdempotencyRecord("c", f"k-{n}", "h", 202, b"{}", {}, NOW, expires))
        uow.commit()
    return store


async def test_a_backlog_goes_in_batches_then_the_purge_waits_for_its_interval() -> None:
    store = _store_with(expired=5, live=2)
    purge = ExpiredKeyPurge(store, clock=lambda: NOW, interval_s=3600, batch=2)
    assert [await purge.run_once() for _ in range(4)] == [2, 2, 1, 0]  # the last waits for the next interval
    with store.unit_of_work() as uow:
        assert uow.api.purge_idempotent(now=NOW + timedelta(hours=2)) == 2  # the live keys were kept
