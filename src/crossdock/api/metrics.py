"""Prometheus metrics at `/metrics`: API latency per route and status, and, read at scrape time, the log's lag and
dead letters per consumer group, open business exceptions by class, and each system's circuit.

Scraping needs a token with `systems:read` (Prometheus sends it as a bearer token): no endpoint is open.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest

from crossdock.ports.event_log import EventLog
from crossdock.ports.store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_CIRCUIT_VALUES = {"closed": 0, "half_open": 1, "open": 2}
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    """The API process's metrics, in a registry of its own (two apps in one process do not share counters)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "crossdock_api_request_duration_seconds",
            "Time to the response's first byte, by route template, method and status.",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.log_lag = Gauge(
            "crossdock_log_lag_events",
            "Events a consumer group has still to handle.",
            ["group"],
            registry=self.registry,
        )
        self.dead_letters = Gauge(
            "crossdock_dead_letters", "Dead letters waiting, by consumer group.", ["group"], registry=self.registry
        )
        self.exceptions = Gauge(
            "crossdock_exceptions_open", "Open business exceptions, by class.", ["class"], registry=self.registry
        )
        self.circuits = Gauge(
            "crossdock_circuit_state",
            "Each system's circuit: 0 closed, 1 half-open, 2 open.",
            ["system"],
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """One answered request."""
        self.request_seconds.labels(method, route, str(status)).observe(seconds)

    async def scrape(self, log: EventLog | None, store: Store, circuits: Mapping[str, str]) -> bytes:
        """The exposition text, with the scrape-time figures read now."""
        if log is not None:
            groups = await log.groups()
            dead: dict[str, int] = {}
            for letter in await log.dead_letters(limit=10_000):
                dead[letter.group] = dead.get(letter.group, 0) + 1
            for group in groups:
                self.log_lag.labels(group).set(sum((await log.lag(group)).values()))
                self.dead_letters.labels(group).set(dead.get(group, 0))
        with store.unit_of_work(read_only=True) as uow:
            for exception_class, count in uow.exceptions.count_by_class().items():
                self.exceptions.labels(exception_class).set(count)
        for system, state in circuits.items():
            self.circuits.labels(system).set(_CIRCUIT_VALUES.get(state, 0))
        return generate_latest(self.registry)
