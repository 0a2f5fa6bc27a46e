"""Available-to-promise per SKU, as the ERP last told it: an in-process cache in front of `OrderDesk.item_supply`.

An entry older than the maximum age is refreshed before it is served. While the ERP is down, what is cached is
served marked stale, with the time it was read; only a SKU never read at all cannot be answered. Requests that
need the same SKUs at the same moment share one ERP call, which runs as its own task: a caller that hangs up
does not cancel the answer others are waiting for.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from crossdock.api.erp import ErpUnavailableError
from crossdock.ports.orders import ItemSupply

Fetch = Callable[[list[str]], Awaitable[dict[str, ItemSupply]]]
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class SupplyReading:
    """One SKU's supply as served: `supply` is None for a SKU the ERP does not know."""

    sku: str
    supply: ItemSupply | None
    as_of: datetime
    stale: bool


class AvailabilityNotCachedError(Exception):
    """The ERP is down and some SKUs were never read, so there is nothing to serve for them."""

    def __init__(self, missing: Sequence[str], cause: ErpUnavailableError) -> None:
        super().__init__(f"{cause} No availability is cached for {', '.join(missing)}.")
        self.missing = tuple(missing)
        self.retry_after_s = cause.retry_after_s


@dataclass(frozen=True, slots=True)
class _Entry:
    supply: ItemSupply | None
    as_of: datetime


class AvailabilityCache:
    """ATP per SKU with the time it was read; bounded, least recently refreshed SKUs go first."""

    def __init__(self, *, max_entries: int = 50_000, max_quiet_s: float = 30.0) -> None:
        # Bounded because SKUs come from callers: a client asking for a million made-up SKUs evicts old entries
        # instead of growing memory.
        self._max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._refreshing: dict[str, asyncio.Task[None]] = {}
        # After a failed refresh the ERP is left alone until `_quiet_until` (monotonic): every request in between
        # is served from the cache at once instead of waiting out another timeout.
        self._quiet_until = 0.0
        self._max_quiet_s = max_quiet_s
        self._failure: ErpUnavailableError | None = None

    def __len__(self) -> int:
        return len(self._entries)

    async def read(self, skus: Sequence[str], fetch: Fetch, *, max_age: timedelta, clock: Clock) -> list[SupplyReading]:
        """The supply of each SKU (in the order given, once each), refreshing entries older than `max_age`."""
        wanted = list(dict.fromkeys(skus))
        started = clock()
        waits: set[asyncio.Task[None]] = set()
        due: list[str] = []
        for sku in wanted:
            entry = self._entries.get(sku)
            if entry is not None and started - entry.as_of <= max_age:
                continue
            running = self._refreshing.get(sku)
            if running is not None:
                waits.add(running)
            else:
                due.append(sku)
        if due and time.monotonic() >= self._quiet_until:
            task = asyncio.get_running_loop().create_task(self._refresh(due, fetch, clock))
            for sku in due:
                self._refreshing[sku] = task
            waits.add(task)
        for task in waits:
            await asyncio.shield(task)
        readings: list[SupplyReading] = []
        missing: list[str] = []
        for sku in wanted:
            entry = self._entries.get(sku)
            if entry is None:
                missing.append(sku)
            else:
                readings.append(SupplyReading(sku, entry.supply, entry.as_of, started - entry.as_of > max_age))
        if missing:
            raise AvailabilityNotCachedError(missing, self._failure or ErpUnavailableError("The ERP is not answering."))
        return readings

    async def _refresh(self, skus: list[str], fetch: Fetch, clock: Clock) -> None:
        try:
            found = await fetch(skus)
        except ErpUnavailableError as error:
            self._failure = error
            self._quiet_until = time.monotonic() + min(error.retry_after_s, self._max_quiet_s)
            return
        finally:
            current = asyncio.current_task()
            for sku in skus:
                if self._refreshing.get(sku) is current:
                    del self._refreshing[sku]
        as_of = clock()
        self._failure = None
        for sku in skus:
            self._entries[sku] = _Entry(found.get(sku), as_of)
            self._entries.move_to_end(sku)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
