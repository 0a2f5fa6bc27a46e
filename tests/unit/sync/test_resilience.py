"""A target outage: the circuit opens, deliveries wait in the log without spending attempts, the backlog drains."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from crossdock.connectors.recording.config import RecordingSettings
from crossdock.connectors.recording.connector import RecordingConnector
from crossdock.log.memory import MemoryEventLog
from crossdock.ports.connector import ConnectorError, ErrorKind, UpsertRequest, UpsertResult
from crossdock.store.memory import MemoryStore
from crossdock.sync.deliver import DeliveryRunner
from crossdock.sync.flow import Flow, FlowTarget
from crossdock.sync.mappings import NoMappings
from crossdock.sync.publish import Publisher
from crossdock.sync.resilience import CircuitBreaker, CircuitState, GuardedConnector
from crossdock.sync.retry import RetryPolicy
from tests.unit.sync.test_flows import customer_event


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_probes_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker("erp", failure_threshold=3, open_for_s=10, max_open_s=40, clock=clock)
    for _ in range(2):
        breaker.failed()
    assert breaker.state is CircuitState.CLOSED
    breaker.failed()
    assert breaker.state is CircuitState.OPEN
    assert breaker.wait_s() == 10
    clock.now += 10
    assert breaker.wait_s() == 0, "one probe goes out"
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.wait_s() > 0, "nobody else while the probe is out"
    breaker.failed()
    assert breaker.state is CircuitState.OPEN
    assert breaker.wait_s() == 20, "the cooldown doubles"
    clock.now += 20
    assert breaker.wait_s() == 0
    breaker.succeeded()
    assert breaker.state is CircuitState.CLOSED
    breaker.failed(retry_after_s=7)
    assert breaker.state is CircuitState.CLOSED
    assert breaker.wait_s() == 7, "a Retry-After paces every call, circuit closed or not"


class DownFor(RecordingConnector):
    """A target that refuses every call while `down` is set."""

    down = True
    calls = 0

    async def upsert(self, entity: str, requests: Sequence[UpsertRequest]) -> list[UpsertResult]:
        self.calls += 1
        if self.down:
            raise ConnectorError(ErrorKind.TRANSIENT, "connection refused")
        return await super().upsert(entity, requests)


async def test_an_outage_holds_the_backlog_and_it_drains_in_order_afterwards(tmp_path: Path) -> None:
    log, store = MemoryEventLog(partitions=4), MemoryStore()
    target = DownFor("erp", RecordingSettings(path=tmp_path / "erp.db"))
    guarded = GuardedConnector(target, CircuitBreaker("erp", failure_threshold=3, open_for_s=0.05, max_open_s=0.2))
    flow = Flow(
        "customers",
        "feed",
        "customer",
        (FlowTarget("erp", "customer", RetryPolicy(max_attempts=3, initial_backoff_s=0.01)),),
    )
    events = [customer_event(f"cust-{i % 5}", i) for i in range(40)]
    await Publisher(log).publish(events)
    runner = DeliveryRunner(flow, flow.targets[0], guarded, store, log, NoMappings(), consumer="w1")

    for _ in range(60):
        await runner.run_once(wait_s=0.02)
    assert guarded.breaker.state is not CircuitState.CLOSED
    assert await log.dead_letters() == [], "an outage must not use up attempts and dead-letter the backlog"
    calls_while_down = target.calls
    assert calls_while_down < 60, "an open circuit fails fast instead of calling the dead system"

    target.down = False
    for _ in range(200):
        report = await runner.run_once(wait_s=0.05)
        if report.fetched == 0 and sum((await log.lag(flow.group(flow.targets[0]))).values()) == 0:
            break
    assert guarded.breaker.state is CircuitState.CLOSED
    history = target.file.history("customer")
    assert sorted(eid for _, eid, _ in history) == sorted(e.id for e in events)
    for subject in {e.subject for e in events}:
        assert [eid for ext, eid, _ in history if ext == subject] == [e.id for e in events if e.subject == subject]
