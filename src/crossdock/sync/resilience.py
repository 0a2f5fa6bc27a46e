"""Resilience per target system: a circuit breaker and pacing around every connector call.

While a system is down its circuit is open: calls fail at once as downstream outages, deliveries pause without
using up their retry attempts, and the backlog waits in the log. After a cooldown one probe call is let through
(half-open); success closes the circuit and the backlog drains, failure opens it again for longer.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from crossdock.ports.connector import (
    ChangeBatch,
    Connector,
    ConnectorError,
    ErrorKind,
    StampsCanonicalIds,
    UpsertRequest,
    UpsertResult,
)

logger = logging.getLogger(__name__)

OUTAGE_KINDS = frozenset({ErrorKind.TRANSIENT, ErrorKind.DOWNSTREAM_OUTAGE})
"""Failures that count toward a system's circuit: the system is unwell, not the record."""


class CircuitState(enum.StrEnum):
    """Where a system's circuit stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(slots=True)
class CircuitBreaker:
    """Opens after `failure_threshold` consecutive failed calls; cooldowns double up to `max_open_s`."""

    system: str
    failure_threshold: int = 5
    open_for_s: float = 5.0
    max_open_s: float = 120.0
    clock: Callable[[], float] = time.monotonic
    state: CircuitState = CircuitState.CLOSED
    consecutive_failures: int = 0
    cooldown_s: float = 0.0
    opened_at: float = 0.0
    held_until: float = 0.0  # the system asked us to wait (429 Retry-After): pace all calls, open or not
    probing: bool = False
    transitions: list[tuple[float, CircuitState]] = field(default_factory=list)

    def wait_s(self) -> float:
        """Seconds until a call may go out (0: go now). Lets one probe through when the cooldown has passed."""
        now = self.clock()
        if now < self.held_until:
            return self.held_until - now
        if self.state is CircuitState.CLOSED:
            return 0.0
        remaining = self.opened_at + self.cooldown_s - now
        if remaining > 0:
            return remaining
        if self.probing:
            return min(self.cooldown_s, 1.0)  # a probe is out; others wait for its verdict
        self._move(CircuitState.HALF_OPEN)
        self.probing = True
        return 0.0

    def succeeded(self) -> None:
        """A call worked: close the circuit."""
        self.consecutive_failures = 0
        self.probing = False
        if self.state is not CircuitState.CLOSED:
            self.cooldown_s = 0.0
            self._move(CircuitState.CLOSED)

    def failed(self, retry_after_s: float | None = None) -> None:
        """A call failed in a way that says the system is unwell."""
        now = self.clock()
        if retry_after_s:
            self.held_until = max(self.held_until, now + retry_after_s)
        self.consecutive_failures += 1
        if self.state is CircuitState.HALF_OPEN or self.consecutive_failures >= self.failure_threshold:
            self.cooldown_s = min(self.max_open_s, self.cooldown_s * 2 if self.cooldown_s else self.open_for_s)
            self.opened_at = now
            self.probing = False
            if self.state is not CircuitState.OPEN:
                self._move(CircuitState.OPEN)

    def _move(self, state: CircuitState) -> None:
        logger.warning("%s circuit %s → %s", self.system, self.state.value, state.value)
        self.state = state
        self.transitions.append((self.clock(), state))


class GuardedConnector:
    """A connector behind its system's circuit breaker; the Connector port, unchanged for callers."""

    def __init__(self, inner: Connector, breaker: CircuitBreaker) -> None:
        self._inner = inner
        self.breaker = breaker

    @property
    def system(self) -> str:
        """The wrapped connector's system name."""
        return self._inner.system

    @property
    def inner(self) -> Connector:
        """The connector behind the breaker."""
        return self._inner

    def _refuse_if_open(self) -> None:
        wait = self.breaker.wait_s()
        if wait > 0:
            reason = "asked us to wait" if self.breaker.state is CircuitState.CLOSED else "circuit is open"
            raise ConnectorError(
                ErrorKind.DOWNSTREAM_OUTAGE,
                f"{self.system} {reason} after {self.breaker.consecutive_failures} failed call(s); "
                f"next attempt in {wait:.1f} s",
                retry_after_s=wait,
            )

    async def read_changes(self, entity: str, cursor: str | None, limit: int) -> ChangeBatch:
        """Read through the breaker."""
        self._refuse_if_open()
        try:
            batch = await self._inner.read_changes(entity, cursor, limit)
        except ConnectorError as exc:
            raise self._judge(exc) from exc
        self.breaker.succeeded()
        return batch

    async def upsert(self, entity: str, requests: Sequence[UpsertRequest]) -> list[UpsertResult]:
        """Write through the breaker; a call whose every record failed transiently counts as a failed call."""
        self._refuse_if_open()
        try:
            results = await self._inner.upsert(entity, requests)
        except ConnectorError as exc:
            raise self._judge(exc) from exc
        errors = [result.error for result in results if result.error is not None]
        if results and len(errors) == len(results) and all(e.kind in OUTAGE_KINDS for e in errors):
            outage = self._judge(errors[0])
            if outage.kind is ErrorKind.DOWNSTREAM_OUTAGE:
                return [replace(result, error=outage) for result in results]
        else:
            self.breaker.succeeded()
        return results

    async def stamp_canonical_ids(self, entity: str, links: Sequence[tuple[str, str]]) -> None:
        """Pass the stamps on when the wrapped connector can write canonical ids; otherwise nothing to do."""
        if isinstance(self._inner, StampsCanonicalIds):
            self._refuse_if_open()
            try:
                await self._inner.stamp_canonical_ids(entity, links)
            except ConnectorError as exc:
                raise self._judge(exc) from exc

    def _judge(self, exc: ConnectorError) -> ConnectorError:
        """Count the failure; once it opens (or keeps open) the circuit, it is the system's fault, not the record's:
        report it as an outage so the records wait without spending their retry attempts."""
        if exc.kind not in OUTAGE_KINDS:
            return exc
        self.breaker.failed(exc.retry_after_s)
        if self.breaker.state is not CircuitState.OPEN:
            return exc
        return ConnectorError(
            ErrorKind.DOWNSTREAM_OUTAGE,
            f"{self.system} circuit is open after {self.breaker.consecutive_failures} failed call(s): {exc}",
            retry_after_s=self.breaker.wait_s() or self.breaker.cooldown_s,
        )

    async def close(self) -> None:
        """Close the wrapped connector."""
        await self._inner.close()
