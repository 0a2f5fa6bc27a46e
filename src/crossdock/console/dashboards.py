"""The overview's figures: per flow throughput, error rate, lag and latency; per system its circuit and API budget;
SLA breaches; and the series the charts draw. Everything is read from the store and the log at request time, so
any console process shows the same numbers whichever worker did the work; only lag over time is sampled here."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crossdock.console.charts import Series
from crossdock.console.context import ConsoleContext, FlowInfo
from crossdock.console.sla import describe, reading
from crossdock.ports.store import BusinessException, ExceptionStatus, LineageEntry, UnitOfWork
from crossdock.sync.resilience import CircuitState, GuardedConnector

BUCKETS = 30
_OK_OUTCOMES = frozenset({"delivered", "unchanged"})
_PENDING = (ExceptionStatus.OPEN, ExceptionStatus.ASSIGNED)


@dataclass(frozen=True, slots=True)
class Window:
    """The time a dashboard covers: from the first activity in the last `span` (or `span` ago) until now."""

    start: datetime
    end: datetime

    def buckets(self, count: int = BUCKETS) -> list[datetime]:
        """Bucket start times."""
        step = (self.end - self.start) / count
        return [self.start + step * n for n in range(count)]

    def index(self, at: datetime, count: int = BUCKETS) -> int:
        """The bucket `at` falls in."""
        span = (self.end - self.start).total_seconds() or 1.0
        return min(count - 1, max(0, int((at - self.start).total_seconds() / span * count)))


@dataclass(frozen=True, slots=True)
class FlowFigures:
    """One flow target's figures over the window."""

    flow: FlowInfo
    target: str
    group: str
    delivered: int
    failed: int  # quarantined or dead-lettered
    lag: int
    dead_letters: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    last_delivery: datetime | None

    @property
    def error_rate(self) -> float | None:
        """Failed share of deliveries in the window."""
        total = self.delivered + self.failed
        return self.failed / total if total else None


@dataclass(frozen=True, slots=True)
class SystemFigures:
    """A connected system: reachable (circuit), and its API budget where the connector reports one."""

    name: str
    kind: str
    circuit: str | None
    failures: int
    retry_in_s: float
    budget: dict[str, Any] | None

    @property
    def up(self) -> bool:
        """Calls go through."""
        return self.circuit in (None, CircuitState.CLOSED.value)


@dataclass(frozen=True, slots=True)
class Breach:
    """An SLA broken now: whose, which rule, by how much."""

    subject: str
    rule: str
    detail: str
    link: str | None = None


@dataclass
class Overview:
    """Everything the overview page shows."""

    window: Window
    flows: list[FlowFigures]
    systems: list[SystemFigures]
    breaches: list[Breach]
    throughput: list[Series]
    latency: list[Series]
    lag: list[Series]
    exceptions: list[tuple[datetime, float]]
    open_exceptions: int = 0
    by_queue: dict[str, int] = field(default_factory=dict)


class LagSampler:
    """Lag per consumer group over time, sampled in this process (the log keeps only the current lag)."""

    def __init__(self, context: ConsoleContext, *, every_s: float = 30.0, keep: int = 240) -> None:
        self._ctx = context
        self._every_s = every_s
        self.samples: deque[tuple[datetime, dict[str, int]]] = deque(maxlen=keep)
        self._task: asyncio.Task[None] | None = None

    async def sample(self) -> dict[str, int]:
        """Take a sample now (at most one per few seconds) and return the current lag per group."""
        now = self._ctx.clock()
        if self.samples and (now - self.samples[-1][0]).total_seconds() < 2:
            return self.samples[-1][1]
        lags = {}
        for flow in self._ctx.flows:
            for target in flow.targets:
                lags[target.group] = sum((await self._ctx.log.lag(target.group)).values())
        self.samples.append((now, lags))
        return lags

    def start(self) -> None:
        """Sample in the background from now on (started by the first console request: a mounted app gets no
        lifespan events of its own)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="console-lag-sampler")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a log hiccup costs one sample, not the sampler
                await self.sample()
            await asyncio.sleep(self._every_s)


def _percentile(values: Sequence[float], share: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def _latencies(rows: Sequence[LineageEntry]) -> dict[str, list[tuple[datetime, float]]]:
    """Per consumer group key `flow|target`: (delivered at, capture → delivery in ms) of each delivery."""
    captured = {
        row.event_id: row.started_at
        for row in rows
        if row.step.startswith("capture.") and row.event_id and row.started_at is not None
    }
    out: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for row in rows:
        if not row.step.startswith("deliver.") or row.started_at is None or row.outcome not in _OK_OUTCOMES:
            continue
        began = captured.get(row.event_id or "")
        if began is not None:
            millis = (row.started_at - began).total_seconds() * 1000
        elif row.duration_ms is not None:
            millis = row.duration_ms  # captured before the window: the write itself is what we know
        else:
            continue
        out[f"{row.detail.get('flow')}|{row.system}"].append((row.started_at, max(0.0, millis)))
    return out


def window_for(rows: Sequence[LineageEntry], now: datetime, span: timedelta) -> Window:
    """From the first activity within `span` (at least two minutes back) until now: a quiet system shows its whole
    day, a demo that played ten minutes ago shows those ten minutes."""
    first = min((row.started_at for row in rows if row.started_at is not None), default=now - span)
    return Window(min(first - timedelta(seconds=30), now - timedelta(minutes=2)), now)


async def overview(ctx: ConsoleContext, sampler: LagSampler, span: timedelta = timedelta(hours=24)) -> Overview:
    """The overview's figures."""
    now = ctx.clock()

    def read(uow: UnitOfWork) -> tuple[list[LineageEntry], list[BusinessException]]:
        return uow.operations.lineage_since(now - span), uow.exceptions.list(limit=5000)

    rows, exceptions = await ctx.read(read)
    lags = await sampler.sample()
    window = window_for(rows, now, span)
    letters = await ctx.log.dead_letters(None, limit=10_000)
    dead = Counter(letter.group for letter in letters)
    dead_recent = Counter(letter.group for letter in letters if letter.dead_at >= window.start)
    latencies = _latencies(rows)
    buckets = window.buckets()
    flows, throughput, latency_series = [], [], []
    breaches: list[Breach] = []
    for flow in ctx.flows:
        for target in flow.targets:
            key = f"{flow.name}|{target.system}"
            deliveries = [
                r
                for r in rows
                if r.step.startswith("deliver.") and r.system == target.system and r.detail.get("flow") == flow.name
            ]
            ok = [r for r in deliveries if r.outcome in _OK_OUTCOMES]
            failed = len(deliveries) - len(ok) + dead_recent.get(target.group, 0)
            values = [ms for _, ms in latencies.get(key, [])]
            last = max((r.started_at for r in ok if r.started_at is not None), default=None)
            figures = FlowFigures(
                flow,
                target.system,
                target.group,
                len(ok),
                failed,
                lags.get(target.group, 0),
                dead.get(target.group, 0),
                _percentile(values, 0.5),
                _percentile(values, 0.95),
                last,
            )
            flows.append(figures)
            counts = [0.0] * len(buckets)
            for r in ok:
                if r.started_at is not None:
                    counts[window.index(r.started_at)] += 1
            label = f"{flow.name} → {target.system}"
            throughput.append(Series(label, list(zip(buckets, counts, strict=True))))
            per_bucket: dict[int, list[float]] = defaultdict(list)
            for at, ms in latencies.get(key, []):
                per_bucket[window.index(at)].append(ms / 1000)
            latency_series.append(
                Series(label, [(buckets[i], _percentile(v, 0.95) or 0.0) for i, v in sorted(per_bucket.items())])
            )
            breaches += _flow_breaches(figures, now)
    pending = [e for e in exceptions if e.status in _PENDING]
    breaches += _exception_breaches(ctx, pending, now)
    exception_counts = [0.0] * len(buckets)
    for exception in exceptions:
        if exception.created_at is not None and exception.created_at >= window.start:
            exception_counts[window.index(exception.created_at)] += 1
    lag_series = [
        Series(group, [(at, float(sample.get(group, 0))) for at, sample in sampler.samples if at >= window.start])
        for group in sorted({g for _, sample in sampler.samples for g in sample})
    ]
    return Overview(
        window=window,
        flows=flows,
        systems=systems(ctx),
        breaches=breaches,
        throughput=throughput,
        latency=latency_series,
        lag=lag_series,
        exceptions=list(zip(buckets, exception_counts, strict=True)),
        open_exceptions=len(pending),
        by_queue=dict(Counter(e.owner_queue for e in pending).most_common()),
    )


def _flow_breaches(figures: FlowFigures, now: datetime) -> list[Breach]:
    sla = figures.flow.sla
    if sla is None:
        return []
    name = f"{figures.flow.name} → {figures.target}"
    found = []
    idle = now - figures.last_delivery if figures.last_delivery is not None else None
    if figures.lag and (idle is None or idle > sla):
        since = f"nothing delivered for {describe(idle)}" if idle is not None else "nothing delivered in the window"
        found.append(Breach(name, f"fresh within {describe(sla)}", f"{figures.lag} waiting, {since}"))
    if figures.latency_p95_ms is not None and figures.latency_p95_ms > sla.total_seconds() * 1000:
        p95 = describe(timedelta(milliseconds=figures.latency_p95_ms))
        found.append(Breach(name, f"fresh within {describe(sla)}", f"p95 capture → delivery {p95}"))
    if figures.dead_letters:
        found.append(
            Breach(
                name,
                "nothing dead-lettered",
                f"{figures.dead_letters} dead letter(s)",
                f"dead-letters?group={figures.group}",
            )
        )
    return found


def _exception_breaches(ctx: ConsoleContext, pending: list[BusinessException], now: datetime) -> list[Breach]:
    found = []
    for exception in pending:
        clock = reading(exception, ctx.sla_clocks, now)
        if clock is not None and clock.breached and clock.clock.name != "any":
            found.append(
                Breach(
                    f"exception #{exception.id} ({exception.owner_queue})",
                    clock.clock.label,
                    f"open {describe(clock.elapsed)}: {exception.reason[:90]}",
                    f"exceptions/{exception.id}",
                )
            )
    return found


def systems(ctx: ConsoleContext) -> list[SystemFigures]:
    """Each connected system's circuit and, where its connector reports one, its API budget."""
    out = []
    for name, connector in sorted(ctx.connectors.items()):
        circuit, failures, retry_in = None, 0, 0.0
        inner: Any = connector
        if isinstance(connector, GuardedConnector):
            breaker = connector.breaker
            inner = connector.inner
            circuit, failures = breaker.state.value, breaker.consecutive_failures
            if breaker.state is not CircuitState.CLOSED:
                retry_in = max(0.0, breaker.opened_at + breaker.cooldown_s - breaker.clock())
        usage = getattr(inner, "api_usage", None)  # the Salesforce connector's; others have none
        budget = None
        if usage is not None:
            budget = {
                "used": getattr(usage, "used", None),
                "limit": getattr(usage, "limit", None),
                "calls_24h": getattr(usage, "calls_24h", None),
                "budget": getattr(usage, "budget", None),
            }
        out.append(SystemFigures(name, ctx.system_types.get(name, "?"), circuit, failures, retry_in, budget))
    return out
