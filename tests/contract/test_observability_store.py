"""What observability keeps in and reads from the store, on every backend: the TraceKeeper port (spans for the
console, with retention), the trace context a process instance carries, and the counts `/metrics` reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from crossdock.observability.keeper import KeptSpan, TraceKeeper
from crossdock.ports.store import BusinessException, ExceptionClass, ProcessInstance, ProcessState
from crossdock.store import MemoryStore, SqlStore

AnyStore = MemoryStore | SqlStore
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def span(trace: str, span_id: str, *, parent: str | None = None, at: float = 0.0, **fields: object) -> KeptSpan:
    started = T0 + timedelta(seconds=at)
    values: dict[str, object] = {
        "name": f"span {span_id}",
        "ended_at": started + timedelta(milliseconds=40),
        "attributes": {"n": 1},
    }
    values.update(fields)
    return KeptSpan(
        trace_id=trace,
        span_id=span_id,
        parent_span_id=parent,
        started_at=started,
        **values,  # type: ignore[arg-type]
    )


def trace_id(n: int) -> str:
    return f"{n:032x}"


def keeper_of(store: AnyStore) -> TraceKeeper:
    return store.trace_keeper()


def test_a_trace_comes_back_whole_in_start_order(store: AnyStore) -> None:
    keeper = keeper_of(store)
    order = trace_id(1)
    keeper.keep([span(order, "b" * 16, parent="a" * 16, at=1.0, kind="client", business_key="API-acme-PO-1")])
    keeper.keep(
        [
            span(order, "a" * 16, at=0.0, kind="server", status="ok", events=[{"name": "x", "attributes": {}}]),
            span(trace_id(2), "c" * 16, at=5.0),
        ]
    )
    keeper.keep([span(order, "a" * 16, at=0.0, name="kept twice")])  # a span already kept stays as it was

    spans = keeper.trace(order)
    assert [s.span_id for s in spans] == ["a" * 16, "b" * 16]
    root, call = spans
    assert root.name == "span " + "a" * 16
    assert root.status == "ok"
    assert root.kind == "server"
    assert root.events == [{"name": "x", "attributes": {}}]
    assert call.parent_span_id == root.span_id
    assert call.business_key == "API-acme-PO-1"
    assert call.attributes == {"n": 1}
    assert call.started_at == T0 + timedelta(seconds=1)
    assert call.duration_ms == 40.0
    assert keeper.trace(trace_id(99)) == []


def test_recent_and_find_summarise_traces_newest_first(store: AnyStore) -> None:
    keeper = keeper_of(store)
    keeper.keep(
        [
            span(trace_id(1), "a" * 16, at=0.0),
            span(trace_id(1), "b" * 16, parent="a" * 16, at=1.0, status="error", business_key="PO-7"),
            span(trace_id(2), "c" * 16, at=10.0),
            span(trace_id(3), "d" * 16, at=-3600.0),
        ]
    )

    recent = keeper.recent(since=T0 - timedelta(minutes=1))
    assert [s.trace_id for s in recent] == [trace_id(2), trace_id(1)]
    first = recent[1]
    assert (first.root_name, first.spans, first.errors, first.business_keys) == ("span " + "a" * 16, 2, 1, ("PO-7",))
    assert first.started_at == T0
    assert [s.trace_id for s in keeper.recent(since=T0 - timedelta(hours=2), limit=1)] == [trace_id(2)]
    assert [s.trace_id for s in keeper.recent(since=T0 - timedelta(hours=2), errors_only=True)] == [trace_id(1)]
    assert [s.trace_id for s in keeper.find("PO-7")] == [trace_id(1)]
    assert keeper.find("PO-8") == []


def test_prune_forgets_spans_older_than_the_retention(store: AnyStore) -> None:
    keeper = keeper_of(store)
    keeper.keep([span(trace_id(1), "a" * 16, at=-7200.0), span(trace_id(2), "b" * 16, at=0.0)])

    assert keeper.prune(T0 - timedelta(hours=1)) == 1
    assert keeper.trace(trace_id(1)) == []
    assert len(keeper.trace(trace_id(2))) == 1


def test_a_process_instance_keeps_its_trace_context(store: AnyStore) -> None:
    traceparent = f"00-{trace_id(5)}-{'e' * 16}-01"
    started = ProcessInstance(
        id=str(uuid.uuid4()),
        definition="quote_to_order",
        version=1,
        business_key="SO-1",
        state=ProcessState.RUNNABLE,
        wake_at=T0,
        created_at=T0,
        traceparent=traceparent,
    )
    with store.unit_of_work() as uow:
        assert uow.processes.create(started)
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        found = uow.processes.get(started.id)
    assert found is not None
    assert found.traceparent == traceparent


def test_counts_for_metrics(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        for n, state in enumerate([ProcessState.RUNNABLE, ProcessState.RUNNABLE, ProcessState.FAILED]):
            uow.processes.create(
                ProcessInstance(
                    id=str(uuid.uuid4()),
                    definition="quote_to_order",
                    version=1,
                    business_key=f"SO-{n}",
                    state=state,
                    wake_at=T0,
                    created_at=T0,
                )
            )
        for queue in ("order-desk", "order-desk", "purchasing"):
            uow.exceptions.raise_exception(
                BusinessException(exception_class=ExceptionClass.DATA_QUALITY, reason="r", owner_queue=queue)
            )
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.processes.count_by_state() == {"runnable": 2, "failed": 1}
        assert uow.exceptions.count_by_class_and_owner() == {
            ("data_quality", "order-desk"): 2,
            ("data_quality", "purchasing"): 1,
        }
