"""Prometheus metrics at `/metrics`.

- API latency per route template, method and status (a histogram kept here);
- what flowed through this process, counted as it happened (`observability.meters`): appends per event type,
  consumption, retries and dead letters per consumer group, deliveries per flow, target and outcome;
- read at scrape time, so that every worker's work shows: lag and dead-letter depth per consumer group,
  process instances by state, open business exceptions by class and owner queue, each system's circuit, and each
  system's external API calls with what is left of its call budget.

Scraping needs a token with `systems:read` (Prometheus sends it as a bearer token): no endpoint is open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from crossdock.observability.meters import Meters, ReportsCalls
from crossdock.ports.connector import Connector
from crossdock.ports.event_log import EventLog
from crossdock.ports.store import Store
from crossdock.sync.resilience import GuardedConnector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_CIRCUIT_VALUES = {"closed": 0, "half_open": 1, "open": 2}
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_DEAD_LETTERS_READ = 10_000


class _Figures(Collector):
    """Hands the registry the families the last scrape built (built fresh each time, so a group, state or class
    that has gone away stops being reported instead of keeping its last value)."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> Iterable[Metric]:
        """The families of the scrape in progress."""
        return list(self.families)

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: the families are only known at scrape time."""
        return []


class ApiMetrics:
    """The API process's metrics, in a registry of its own (two apps in one process do not share counters)."""

    def __init__(self, meters: Meters | None = None) -> None:
        self.registry = CollectorRegistry()
        self.meters = meters or Meters()
        self.request_seconds = Histogram(
            "crossdock_api_request_duration_seconds",
            "Time to the response's first byte, by route template, method and status.",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._figures = _Figures()
        self.registry.register(self._figures)
        # The histogram's child per (method, route template, status): finding it by labels costs more than the
        # observation, on every request; the keys are few (templates, not paths).
        self._request_children: dict[tuple[str, str, int], Any] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """One answered request."""
        key = (method, route, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.request_seconds.labels(method, route, str(status))
        child.observe(seconds)

    async def scrape(self, log: EventLog | None, store: Store, connectors: Mapping[str, Connector]) -> bytes:
        """The exposition text, with the scrape-time figures read now."""
        families: list[Metric] = []
        if log is not None:
            families.extend(await _log_figures(log))
        families.extend(await asyncio.to_thread(_store_figures, store))
        families.extend(_system_figures(connectors))
        families.extend(self._counters())
        self._figures.families = families
        return generate_latest(self.registry)

    def _counters(self) -> list[Metric]:
        families: list[Metric] = []
        for series, counts in self.meters.samples():
            family = CounterMetricFamily(series.name, series.help, labels=series.labels)
            for labels, value in sorted(counts.items()):
                family.add_metric(labels, value)
            families.append(family)
        return families


async def _log_figures(log: EventLog) -> list[Metric]:
    lag = GaugeMetricFamily(
        "crossdock_log_lag_events", "Events a consumer group has still to handle.", labels=["group"]
    )
    dead = GaugeMetricFamily(
        "crossdock_dead_letters", "Dead letters waiting, by consumer group (the DLQ's depth).", labels=["group"]
    )
    depth: dict[str, int] = {}
    for letter in await log.dead_letters(limit=_DEAD_LETTERS_READ):
        depth[letter.group] = depth.get(letter.group, 0) + 1
    for group in sorted(set(await log.groups()) | set(depth)):
        lag.add_metric([group], sum((await log.lag(group)).values()))
        dead.add_metric([group], depth.get(group, 0))
    return [lag, dead]


def _store_figures(store: Store) -> list[Metric]:
    with store.unit_of_work(read_only=True) as uow:
        by_owner = uow.exceptions.count_by_class_and_owner()
        by_state = uow.processes.count_by_state()
    exceptions = GaugeMetricFamily(
        "crossdock_exceptions_open",
        "Open business exceptions, by class and owner queue.",
        labels=["class", "owner"],
    )
    for (exception_class, owner), count in sorted(by_owner.items()):
        exceptions.add_metric([exception_class, owner], count)
    processes = GaugeMetricFamily("crossdock_processes", "Process instances, by state.", labels=["state"])
    for state, count in sorted(by_state.items()):
        processes.add_metric([state], count)
    return [exceptions, processes]


def _system_figures(connectors: Mapping[str, Connector]) -> list[Metric]:
    circuits = GaugeMetricFamily(
        "crossdock_circuit_state", "Each system's circuit: 0 closed, 1 half-open, 2 open.", labels=["system"]
    )
    calls = CounterMetricFamily(
        "crossdock_external_api_calls", "Calls made to each external system by this process.", labels=["system"]
    )
    failures = CounterMetricFamily(
        "crossdock_external_api_failures", "Calls to each external system that failed.", labels=["system"]
    )
    remaining = GaugeMetricFamily(
        "crossdock_external_api_budget_remaining",
        "Calls still allowed in the system's budget window (Salesforce: 24 hours), where a budget applies.",
        labels=["system"],
    )
    limit = GaugeMetricFamily(
        "crossdock_external_api_budget_limit", "The system's call budget for its window.", labels=["system"]
    )
    for name, connector in sorted(connectors.items()):
        inner = connector
        if isinstance(connector, GuardedConnector):
            circuits.add_metric([name], _CIRCUIT_VALUES.get(connector.breaker.state.value, 0))
            inner = connector.inner
        client = getattr(inner, "client", None)  # a connector's protocol client, when it counts its calls
        if not isinstance(client, ReportsCalls):
            continue
        report = client.call_report()
        calls.add_metric([name], report.calls)
        failures.add_metric([name], report.failures)
        if report.remaining is not None:
            remaining.add_metric([name], report.remaining)
        if report.limit is not None:
            limit.add_metric([name], report.limit)
    return [circuits, calls, failures, remaining, limit]
