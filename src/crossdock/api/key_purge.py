"""Expired Idempotency-Key answers forgotten in the background: a worker service (`crossdock serve` and `crossdock
worker` run it).

Every POST stores its first answer for `api.idempotency_ttl_h`; after that the key is free again and its row is
only weight. At a few thousand orders a second a day's keys are millions of rows, so they go in small batches, the
oldest first, each batch its own short transaction: the order intake's group commits never wait long for the write
lock. Any number of workers may run it; a row is deleted once whoever gets there first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from crossdock.ports.store import Store

logger = logging.getLogger(__name__)


class ExpiredKeyPurge:
    """Forgets expired Idempotency-Key answers, `batch` at a time, every `interval_s` (back to back while a backlog
    is left)."""

    name = "idempotency-key-purge"

    def __init__(
        self, store: Store, *, clock: Callable[[], datetime], interval_s: float = 60.0, batch: int = 2_000
    ) -> None:
        self._store = store
        self._clock = clock
        self._interval_s = interval_s
        self._batch = batch
        self._next_at = 0.0

    async def run_once(self) -> int:
        """One batch when one is due; how many keys it forgot."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._next_at:
            return 0
        try:
            purged = await asyncio.to_thread(self._purge)
        except Exception:  # a store hiccup must not stop the worker; the next pass tries again
            logger.exception("purging expired idempotency keys failed")
            purged = 0
        if purged < self._batch:  # caught up: nothing more is due before the next interval
            self._next_at = loop.time() + self._interval_s
        return purged

    def _purge(self) -> int:
        with self._store.unit_of_work() as uow:
            purged = uow.api.purge_idempotent(now=self._clock(), limit=self._batch)
            uow.commit()
        return purged
