"""What flows through this process, counted: appends per event type, consumption, retries and dead letters per
consumer group, deliveries per flow, target and outcome. `/metrics` reads the counts at scrape time.

Counters live in a `Meters` the composition root makes per runtime (two runtimes in one test do not share
counts) and hands to what counts: the metered event log, the worker. Plain numbers under a lock, not
prometheus_client objects, so that workers count without the API's extra installed.

Figures that several processes share (lag, dead-letter depth, processes by state, open exceptions) are read from
the log and the store at scrape time instead; so are each connector's call counts (`ReportsCalls`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from crossdock.events.envelope import CloudEvent


@dataclass(frozen=True, slots=True)
class Series:
    """One counter as Prometheus shows it."""

    name: str  # without `_total`, which the exposition adds
    help: str
    labels: tuple[str, ...]


APPENDS = Series(
    "crossdock_log_appends",
    "Events appended to the log by this process (and the orders its order intake process took), by event type.",
    ("type",),
)
CONSUMED = Series("crossdock_log_consumed", "Events a consumer group acknowledged, by group.", ("group",))
RETRIES = Series("crossdock_log_retries", "Events put back for another attempt (nack), by consumer group.", ("group",))
DEAD_LETTERED = Series("crossdock_log_dead_lettered", "Events dead-lettered, by consumer group.", ("group",))
DELIVERIES = Series(
    "crossdock_deliveries",
    "Flow deliveries by flow, target system and outcome (delivered, unchanged, quarantined, retried, waiting for "
    "the target, dead_lettered).",
    ("flow", "target", "outcome"),
)
SERIES: tuple[Series, ...] = (APPENDS, CONSUMED, RETRIES, DEAD_LETTERED, DELIVERIES)
DELIVERY_OUTCOMES = ("delivered", "unchanged", "quarantined", "retried", "waiting", "dead_lettered")


class Meters:
    """This runtime's counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the API's intake writer appends from its own thread
        self._counts: dict[Series, Counter[tuple[str, ...]]] = {series: Counter() for series in SERIES}

    def add(self, series: Series, labels: tuple[str, ...], amount: int = 1) -> None:
        """Add to one labelled counter."""
        if amount:
            with self._lock:
                self._counts[series][labels] += amount

    def appended(self, events: Iterable[CloudEvent]) -> None:
        """Events handed to the log (duplicates included: the append was asked for)."""
        by_type = Counter(event.type for event in events)
        with self._lock:
            counts = self._counts[APPENDS]
            for event_type, amount in by_type.items():
                counts[(event_type,)] += amount

    def delivered(self, flow: str, target: str, outcomes: dict[str, int]) -> None:
        """One delivery pass's outcomes."""
        with self._lock:
            counts = self._counts[DELIVERIES]
            for outcome, amount in outcomes.items():
                if amount:
                    counts[(flow, target, outcome)] += amount

    def samples(self) -> list[tuple[Series, dict[tuple[str, ...], int]]]:
        """Every series with its counts now."""
        with self._lock:
            return [(series, dict(self._counts[series])) for series in SERIES]


@dataclass(frozen=True, slots=True)
class CallReport:
    """A connector client's calls to its system since it started, and what is left of its call budget."""

    calls: int
    failures: int = 0
    remaining: int | None = None  # calls still allowed in the budget's window; None where no limit applies
    limit: int | None = None


@runtime_checkable
class ReportsCalls(Protocol):
    """A client that counts its calls to an external system (connectors' `client` objects)."""

    def call_report(self) -> CallReport:
        """Calls made so far and the budget left."""
        ...
