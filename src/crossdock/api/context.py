"""What the API's routes work with, wired once by the composition root and kept on `app.state.crossdock`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from crossdock.api.availability import AvailabilityCache
from crossdock.api.customer_matching import CustomerMatcher, NoCustomerMatcher
from crossdock.api.limits import RatePlan, TokenBucketLimiter
from crossdock.api.metrics import ApiMetrics
from crossdock.api.order_intake import OrderIntake
from crossdock.api.security.tokens import TokenIssuer
from crossdock.config.sections import ApiConfig
from crossdock.ports.api import ApiClientRecord
from crossdock.ports.connector import Connector
from crossdock.ports.egress import EgressPolicy
from crossdock.ports.event_log import EventLog
from crossdock.ports.off_loop import read_off_loop
from crossdock.ports.orders import OrderDesk
from crossdock.ports.store import Store, UnitOfWork
from crossdock.process.journal import JournalWriter
from crossdock.sync.publish import Publisher

Clock = Callable[[], datetime]
T = TypeVar("T")


def utc_now() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


class ClientDirectory:
    """API clients by id, read from the store and kept for a few seconds: every request checks its client is
    not revoked and finds its rate plan, and that must not cost a database read each time."""

    def __init__(self, store: Store, *, max_age_s: float = 5.0) -> None:
        self._store = store
        self._max_age_s = max_age_s
        self._clients: dict[str, tuple[ApiClientRecord | None, float]] = {}

    def get(self, client_id: str) -> ApiClientRecord | None:
        """The client, as stored at most `max_age_s` ago."""
        cached = self._clients.get(client_id)
        now = time.monotonic()
        if cached is not None and now - cached[1] < self._max_age_s:
            return cached[0]
        with self._store.unit_of_work(read_only=True) as uow:
            found = uow.api.get_client(client_id)
        if len(self._clients) > 10_000:
            self._clients.clear()
        self._clients[client_id] = (found, now)
        return found

    def forget(self, client_id: str) -> None:
        """Drop a cached client (after a rotation or revocation made here)."""
        self._clients.pop(client_id, None)


@dataclass
class ApiContext:
    """The API's collaborators."""

    config: ApiConfig
    store: Store
    publisher: Publisher
    issuer: TokenIssuer
    writer: JournalWriter  # store writes of concurrent requests share one commit
    order_intake: OrderIntake  # order submissions, committed in groups (a writer thread or the intake process)
    egress: EgressPolicy
    plans: Mapping[str, RatePlan]
    clients: ClientDirectory
    limiter: TokenBucketLimiter = field(default_factory=TokenBucketLimiter)
    order_desk: OrderDesk | None = None  # the ERP's, when `orders:` is configured
    erp_system: str | None = None
    inbound_secrets: Mapping[str, Sequence[str]] = field(default_factory=dict)
    inbound_event_types: Mapping[str, str] = field(default_factory=dict)
    clock: Clock = utc_now
    log: EventLog | None = None  # read for /metrics (lag, dead letters)
    metrics: ApiMetrics = field(default_factory=ApiMetrics)
    connectors: Mapping[str, Connector] = field(default_factory=dict)  # for the system APIs, behind their breakers
    system_types: Mapping[str, str] = field(default_factory=dict)  # system name -> connector type
    availability: AvailabilityCache = field(default_factory=AvailabilityCache)
    customer_matcher: CustomerMatcher = field(default_factory=NoCustomerMatcher)
    # Idempotency keys being answered right now in this process: a concurrent retry waits for the first answer.
    in_flight: dict[tuple[str, str], asyncio.Future[object]] = field(default_factory=dict)

    def close(self) -> None:
        """Stop the writer threads (after the server stopped taking requests)."""
        self.order_intake.close()
        self.writer.close()

    async def read(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run `fn` in a read-only unit of work off the event loop."""
        return await read_off_loop(self.store, fn)

    async def write(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run `fn` in a unit of work on the writer thread; it commits with whatever other requests wrote."""
        return await self.writer.call(fn)
