"""The flow runner on the memory log and store, with real recording files as systems."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from crossdock.connectors.recording.config import RecordingSettings
from crossdock.connectors.recording.connector import RecordingConnector
from crossdock.events.envelope import CloudEvent
from crossdock.log.memory import MemoryEventLog
from crossdock.ports.connector import ConnectorError, ErrorKind, UpsertRequest, UpsertResult
from crossdock.ports.store import ExceptionClass
from crossdock.store.memory import MemoryStore
from crossdock.sync.capture import CaptureRunner
from crossdock.sync.deliver import DeliveryRunner
from crossdock.sync.flow import Flow, FlowTarget, system_source
from crossdock.sync.mappings import NoMappings
from crossdock.sync.publish import Publisher
from crossdock.sync.retry import RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.02)


def customer_event(subject: str, seq: int, source: str = "feed") -> CloudEvent:
    return CloudEvent(
        type="crossdock.customer.updated.v1",
        source=system_source(source),
        subject=subject,
        data={"id": subject, "name": f"{subject} v{seq}", "seq": seq},
        correlationid=f"corr-{subject}-{seq}",
        businesskeys={"customer_number": subject},
    )


class FlakyTarget(RecordingConnector):
    """Fails chosen records: transiently a number of times, or for good as bad data."""

    def __init__(self, path: Path, *, transient: dict[str, int] | None = None, bad: set[str] | None = None) -> None:
        super().__init__("erp", RecordingSettings(path=path))
        self.transient = dict(transient or {})
        self.bad = bad or set()

    async def upsert(self, entity: str, requests: list[UpsertRequest]) -> list[UpsertResult]:  # type: ignore[override]
        results: list[UpsertResult | None] = [None] * len(requests)
        passing: list[tuple[int, UpsertRequest]] = []
        for index, request in enumerate(requests):
            name = str(request.payload["name"])
            if name in self.bad:
                results[index] = UpsertResult(
                    request.canonical_id, error=ConnectorError(ErrorKind.DATA_QUALITY, "REQUIRED_FIELD_MISSING: Name")
                )
            elif self.transient.get(name, 0) > 0:
                self.transient[name] -= 1
                results[index] = UpsertResult(
                    request.canonical_id, error=ConnectorError(ErrorKind.TRANSIENT, "UNABLE_TO_LOCK_ROW")
                )
            else:
                passing.append((index, request))
        written = await super().upsert(entity, [request for _, request in passing])
        for (index, _), result in zip(passing, written, strict=True):
            results[index] = result
        return [result for result in results if result is not None]


@pytest.fixture
def flow() -> Flow:
    return Flow("customers", "feed", "customer", (FlowTarget("erp", "customer", FAST_RETRY),), batch_size=50)


async def run_until_idle(runner: DeliveryRunner, passes: int = 200) -> None:
    idle = 0
    for _ in range(passes):
        report = await runner.run_once(wait_s=0.05)
        idle = idle + 1 if report.fetched == 0 else 0
        if idle >= 3:
            return


async def test_every_event_is_delivered_once_in_order_per_subject(tmp_path: Path, flow: Flow) -> None:
    log, store = MemoryEventLog(partitions=4), MemoryStore()
    target = RecordingConnector("erp", RecordingSettings(path=tmp_path / "erp.db"))
    rng = random.Random(3)
    events = [customer_event(f"cust-{rng.randrange(8)}", i) for i in range(300)]
    await Publisher(log).publish(events)
    runner = DeliveryRunner(flow, flow.targets[0], target, store, log, NoMappings(), consumer="w1")
    await run_until_idle(runner)

    history = target.file.history("customer")
    assert sorted(event_id for _, event_id, _ in history) == sorted(e.id for e in events)
    for subject in {e.subject for e in events}:
        expected = [e.id for e in events if e.subject == subject]
        assert [eid for ext, eid, _ in history if ext == subject] == expected
    with store.unit_of_work() as uow:
        assert uow.journal.delivered("customers", "erp", [e.id for e in events]) == {e.id for e in events}
        assert uow.xrefs.find_local("customer", "cust-1", "erp") is not None
        assert uow.lineage.find("cust-1")


async def test_a_replay_writes_nothing_twice(tmp_path: Path, flow: Flow) -> None:
    log, store = MemoryEventLog(partitions=4), MemoryStore()
    target = RecordingConnector("erp", RecordingSettings(path=tmp_path / "erp.db"))
    await Publisher(log).publish([customer_event(f"cust-{i % 3}", i) for i in range(30)])
    runner = DeliveryRunner(flow, flow.targets[0], target, store, log, NoMappings(), consumer="w1")
    await run_until_idle(runner)
    before = target.file.history()
    await log.seek(flow.group(flow.targets[0]), from_offset=1)
    await run_until_idle(runner)
    assert target.file.history() == before
    calls, _, _ = target.file.call_stats()
    assert calls > 0


async def test_transient_failures_are_retried_in_order_then_dead_lettered(tmp_path: Path, flow: Flow) -> None:
    log, store = MemoryEventLog(partitions=4), MemoryStore()
    target = FlakyTarget(tmp_path / "erp.db", transient={"cust-a v0": 2, "cust-b v0": 10})
    events = [customer_event("cust-a", 0), customer_event("cust-a", 1), customer_event("cust-b", 0)]
    await Publisher(log).publish(events)
    runner = DeliveryRunner(flow, flow.targets[0], target, store, log, NoMappings(), consumer="w1")
    await run_until_idle(runner)

    history = target.file.history("customer")
    assert [eid for ext, eid, _ in history if ext == "cust-a"] == [events[0].id, events[1].id]
    assert all(ext != "cust-b" for ext, _, _ in history)
    [dead] = await log.dead_letters(flow.group(flow.targets[0]))
    assert dead.event.id == events[2].id
    assert "UNABLE_TO_LOCK_ROW" in dead.error
    with store.unit_of_work() as uow:
        [exception] = uow.exceptions.list(exception_class=ExceptionClass.TRANSIENT)
    assert exception.subject == "cust-b"
    assert exception.raw_payload is not None
    assert "cust-b v0" in exception.raw_payload


async def test_bad_records_are_quarantined_and_the_rest_goes_on(tmp_path: Path, flow: Flow) -> None:
    log, store = MemoryEventLog(partitions=4), MemoryStore()
    target = FlakyTarget(tmp_path / "erp.db", bad={"cust-a v1"})
    events = [customer_event("cust-a", i) for i in range(3)] + [customer_event("cust-b", 0)]
    await Publisher(log).publish(events)
    runner = DeliveryRunner(flow, flow.targets[0], target, store, log, NoMappings(), consumer="w1")
    await run_until_idle(runner)

    delivered = {eid for _, eid, _ in target.file.history()}
    assert delivered == {events[0].id, events[2].id, events[3].id}
    with store.unit_of_work() as uow:
        [exception] = uow.exceptions.list(exception_class=ExceptionClass.DATA_QUALITY)
    assert exception.event_id == events[1].id
    assert "REQUIRED_FIELD_MISSING" in exception.reason
    assert await log.dead_letters() == []


async def test_a_flow_delivers_only_its_own_source_and_entity(tmp_path: Path, flow: Flow) -> None:
    log, store = MemoryEventLog(partitions=4), MemoryStore()
    target = RecordingConnector("erp", RecordingSettings(path=tmp_path / "erp.db"))
    mine = customer_event("cust-a", 0)
    other_source = customer_event("cust-a", 1, source="crm")
    other_entity = CloudEvent(
        type="crossdock.item.updated.v1", source=system_source("feed"), subject="sku-1", data={"id": "sku-1"}
    )
    await Publisher(log).publish([mine, other_source, other_entity])
    runner = DeliveryRunner(flow, flow.targets[0], target, store, log, NoMappings(), consumer="w1")
    await run_until_idle(runner)
    assert [eid for _, eid, _ in target.file.history()] == [mine.id]
    assert sum((await log.lag(flow.group(flow.targets[0]))).values()) == 0


async def test_two_systems_synced_both_ways_do_not_echo(tmp_path: Path) -> None:
    log, store = MemoryEventLog(partitions=4), MemoryStore()
    crm = RecordingConnector("crm", RecordingSettings(path=tmp_path / "crm.db"))
    erp = RecordingConnector("erp", RecordingSettings(path=tmp_path / "erp.db"))
    publisher = Publisher(log)
    crm_to_erp = Flow("crm-to-erp", "crm", "customer", (FlowTarget("erp", "customer", FAST_RETRY),))
    erp_to_crm = Flow("erp-to-crm", "erp", "customer", (FlowTarget("crm", "customer", FAST_RETRY),))
    captures = [
        CaptureRunner(crm_to_erp, crm, store, publisher, NoMappings()),
        CaptureRunner(erp_to_crm, erp, store, publisher, NoMappings()),
    ]
    deliveries = [
        DeliveryRunner(crm_to_erp, crm_to_erp.targets[0], erp, store, log, NoMappings(), consumer="w"),
        DeliveryRunner(erp_to_crm, erp_to_crm.targets[0], crm, store, log, NoMappings(), consumer="w"),
    ]

    async def cycle() -> int:
        published = 0
        for capture in captures:
            published += (await capture.poll_once()).published
        for delivery in deliveries:
            await run_until_idle(delivery, passes=20)
        return published

    crm.file.upsert("customer", [("crm-001", None, None, {"name": "Acme Supply", "sales_rep": "J. Doe"})])
    assert await cycle() == 1
    [(_, erp_payload)] = [(ext, p) for _, ext, _, p in erp.file.changed_since("customer", 0, 10)]
    assert erp_payload["name"] == "Acme Supply"
    for _ in range(3):
        assert await cycle() == 0, "what Crossdock wrote must not come back as a change"
    crm_writes, erp_writes = len(crm.file.history()), len(erp.file.history())

    canonical_id = erp_payload["id"]
    erp.file.upsert("customer", [(canonical_id, None, None, {**erp_payload, "name": "Acme Supply Co"})])
    assert await cycle() == 1
    assert crm.file.count("customer") == 1, "the change updates the CRM's own record, not a copy"
    latest = crm.file.record("customer", "R-crm-001")
    assert latest is not None
    assert latest["name"] == "Acme Supply Co"
    assert latest["id"] == canonical_id
    for _ in range(3):
        assert await cycle() == 0
    assert len(crm.file.history()) == crm_writes + 1
    assert len(erp.file.history()) == erp_writes + 1


class StampingSource(RecordingConnector):
    """A source that records which canonical ids Crossdock wrote into its records."""

    def __init__(self, path: Path) -> None:
        super().__init__("crm", RecordingSettings(path=path))
        self.stamps: list[tuple[str, str]] = []

    async def stamp_canonical_ids(self, entity: str, links: list[tuple[str, str]]) -> None:
        self.stamps.extend(links)


async def test_new_source_records_get_their_canonical_id_stamped_once(tmp_path: Path) -> None:
    log, store = MemoryEventLog(partitions=4), MemoryStore()
    crm = StampingSource(tmp_path / "crm.db")
    flow = Flow("crm-to-erp", "crm", "customer", (FlowTarget("erp", "customer", FAST_RETRY),))
    capture = CaptureRunner(flow, crm, store, Publisher(log), NoMappings())
    crm.file.upsert("customer", [("A-1", None, None, {"name": "Acme"}), ("A-2", None, None, {"name": "Beta"})])
    report = await capture.poll_once()
    assert report.published == 2
    assert report.stamped == 2
    with store.unit_of_work(read_only=True) as uow:
        expected = {
            (ref.local_id, ref.canonical_id)
            for ref in (uow.xrefs.find_canonical("customer", "crm", local) for local in ("R-A-1", "R-A-2"))
            if ref
        }
    assert set(crm.stamps) == expected
    crm.file.upsert("customer", [("A-1", "R-A-1", None, {"name": "Acme Supply"})])
    assert (await capture.poll_once()).published == 1
    assert len(crm.stamps) == 2, "a record is stamped when first seen, not on every change"
    assert (await capture.poll_once()).published == 0
