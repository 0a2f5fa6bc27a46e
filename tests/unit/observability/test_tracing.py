"""Spans, the trace context a CloudEvent carries, sampling, and what the keeper is handed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from crossdock.events.envelope import CloudEvent
from crossdock.observability import logs, tracing
from crossdock.observability.export import KeeperExporter, TraceSink, kept_span, open_sink
from crossdock.observability.keeper import MemoryTraceKeeper
from crossdock.observability.logs import Redactor

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


def order_event(**fields: object) -> CloudEvent:
    values: dict[str, object] = {"correlationid": "corr-1"}
    values.update(fields)
    return CloudEvent(
        type="crossdock.order.submitted.v1",
        source="/api/clients/acme",
        subject="order-1",
        data={"id": "order-1"},
        **values,  # type: ignore[arg-type]
    )


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Every span recorded while the test runs, through a sink of its own."""
    memory = InMemorySpanExporter()
    sink = open_sink(service_name="test", sampling_ratio=1.0, processors=[SimpleSpanProcessor(memory)])
    try:
        yield memory
    finally:
        sink.close()


def finished(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


def test_without_a_sink_spans_are_no_ops_and_carry_no_context() -> None:
    assert not tracing.tracing_on()
    with tracing.span("nothing") as current:
        assert not current.is_recording()
        assert tracing.current_traceparent() is None
    event = order_event()
    assert tracing.inject(event) is event


def test_an_event_carries_the_current_span_and_its_consumer_continues_the_trace(
    exporter: InMemorySpanExporter,
) -> None:
    with tracing.span("POST /v1/orders", kind=SpanKind.SERVER) as request:
        event = tracing.inject(order_event())
        request_context = request.get_span_context()
    assert event.traceparent is not None
    version, trace_id, parent_id, flags = event.traceparent.split("-")
    assert (version, trace_id, parent_id) == (
        "00",
        f"{request_context.trace_id:032x}",
        f"{request_context.span_id:016x}",
    )
    assert int(flags, 16) & 1  # sampled
    event.check()  # the envelope's own traceparent rule agrees

    with tracing.consuming(event, "orders.intake") as consumer:
        assert logs.current_correlation_id() == "corr-1"
        with tracing.span("process quote_to_order"):
            nested = tracing.current_traceparent()
    assert logs.current_correlation_id() is None
    spans = finished(exporter)
    assert spans["orders.intake"].parent is not None
    assert spans["orders.intake"].parent.span_id == request_context.span_id
    assert spans["orders.intake"].kind is SpanKind.CONSUMER
    assert spans["orders.intake"].attributes is not None
    assert spans["orders.intake"].attributes["messaging.message.id"] == event.id
    assert spans["process quote_to_order"].parent is not None
    assert spans["process quote_to_order"].parent.span_id == consumer.get_span_context().span_id
    assert {f"{s.context.trace_id:032x}" for s in spans.values() if s.context} == {f"{request_context.trace_id:032x}"}
    assert nested is not None
    assert nested.split("-")[1] == f"{request_context.trace_id:032x}"


def test_a_remote_traceparent_is_continued_and_a_malformed_one_ignored(exporter: InMemorySpanExporter) -> None:
    with tracing.span("continued", parent=tracing.context_from_traceparent(PARENT)):
        pass
    assert tracing.context_from_traceparent("00-not-a-trace") is None
    assert tracing.extract(order_event()) is None
    (span,) = exporter.get_finished_spans()
    assert span.context is not None
    assert f"{span.context.trace_id:032x}" == TRACE
    assert span.parent is not None
    assert span.parent.is_remote


def test_an_exception_marks_the_span_failed(exporter: InMemorySpanExporter) -> None:
    with pytest.raises(ValueError, match="no stock"), tracing.span("step create_sale"):
        raise ValueError("no stock")
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]


def test_a_call_outside_any_trace_is_not_recorded_but_inside_one_it_is(exporter: InMemorySpanExporter) -> None:
    # A capture loop's poll: no span around it, so no trace of its own.
    with tracing.span("tryton model.party.party.search", kind=SpanKind.CLIENT) as poll:
        assert not poll.is_recording()
    with tracing.span("step create_sale"), tracing.span("tryton model.sale.sale.create", kind=SpanKind.CLIENT):
        pass
    assert sorted(finished(exporter)) == ["step create_sale", "tryton model.sale.sale.create"]


def test_sampling_ratio_zero_records_no_new_trace_but_follows_a_sampled_parent() -> None:
    memory = InMemorySpanExporter()
    sink = open_sink(service_name="test", sampling_ratio=0.0, processors=[SimpleSpanProcessor(memory)])
    try:
        with tracing.span("dropped"):
            pass
        with tracing.span("continued", parent=tracing.context_from_traceparent(PARENT)):
            pass
    finally:
        sink.close()
    assert [s.name for s in memory.get_finished_spans()] == ["continued"]


def test_the_newest_open_sink_gets_the_spans_and_a_closed_one_none() -> None:
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    older = open_sink(service_name="a", sampling_ratio=1.0, processors=[SimpleSpanProcessor(first)])
    newer: TraceSink = open_sink(service_name="b", sampling_ratio=1.0, processors=[SimpleSpanProcessor(second)])
    try:
        with tracing.span("to the newer"):
            pass
        newer.close()
        with tracing.span("to the older"):
            pass
    finally:
        older.close()
    assert [s.name for s in first.get_finished_spans()] == ["to the older"]
    assert [s.name for s in second.get_finished_spans()] == ["to the newer"]
    assert not tracing.tracing_on()


def test_the_keeper_gets_spans_redacted_and_without_stack_traces() -> None:
    keeper = MemoryTraceKeeper()
    sink = open_sink(
        service_name="crossdock-api", sampling_ratio=1.0, keeper=keeper, redact=Redactor(["hunter2hunter2"])
    )
    try:
        with (
            pytest.raises(RuntimeError),
            tracing.span(
                "tryton model.sale.sale.create",
                attributes={tracing.BUSINESS_KEY: "API-acme-PO-1", "note": "password=hunter2hunter2"},
            ),
        ):
            raise RuntimeError("login refused for token cdsk_abcdefgh12345678")
        sink.flush()
    finally:
        sink.close()
    (summary,) = keeper.find("API-acme-PO-1")
    (kept,) = keeper.trace(summary.trace_id)
    assert kept.service == "crossdock-api"
    assert kept.status == "error"
    assert kept.attributes["note"] == "password=***"
    assert "cdsk_abcdefgh" not in (kept.status_message or "")
    (exception,) = kept.events
    assert "exception.stacktrace" not in exception["attributes"]
    assert exception["attributes"]["exception.message"] == "login refused for token cdsk_***"


def test_the_keeper_exporter_prunes_past_the_retention() -> None:
    keeper = MemoryTraceKeeper()
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    memory = InMemorySpanExporter()
    sink = open_sink(service_name="t", sampling_ratio=1.0, processors=[SimpleSpanProcessor(memory)])
    try:
        with tracing.span("old"):
            pass
    finally:
        sink.close()
    (old,) = memory.get_finished_spans()
    converted = kept_span(old)
    assert converted is not None
    keeper.keep([converted])
    exporter = KeeperExporter(keeper, retention=timedelta(hours=1), clock=lambda: now + timedelta(days=400))
    exporter.export([])
    assert keeper.trace(converted.trace_id) == []


def test_a_request_the_sampler_drops_still_gives_its_events_one_unsampled_trace() -> None:
    memory = InMemorySpanExporter()
    sink = open_sink(service_name="test", sampling_ratio=0.0, processors=[SimpleSpanProcessor(memory)])
    try:
        with tracing.request_span("POST", traceparent=None, attributes={}) as current:
            assert not current.is_recording()
            event = tracing.inject(order_event())
        with tracing.consuming(event, "intake"):
            pass
    finally:
        sink.close()
    assert memory.get_finished_spans() == ()
    assert event.traceparent is not None
    assert event.traceparent.endswith("-00"), "not sampled: the work it causes is not recorded either"


def test_a_sampled_request_is_one_server_span_and_a_callers_trace_decides_for_itself() -> None:
    memory = InMemorySpanExporter()
    sink = open_sink(service_name="test", sampling_ratio=1.0, processors=[SimpleSpanProcessor(memory)])
    unsampled_caller = f"00-{TRACE}-00f067aa0ba902b7-00"
    try:
        with tracing.request_span("POST", traceparent=None, attributes={"url.path": "/v1/orders"}):
            pass
        with tracing.request_span("GET", traceparent=PARENT, attributes={}):
            pass
        with tracing.request_span("PUT", traceparent=unsampled_caller, attributes={}) as dropped:
            assert f"{dropped.get_span_context().trace_id:032x}" == TRACE
    finally:
        sink.close()
    spans = finished(memory)
    assert sorted(spans) == ["GET", "POST"]
    assert spans["POST"].kind is SpanKind.SERVER
    assert spans["POST"].attributes == {"url.path": "/v1/orders"}
    assert f"{spans['GET'].context.trace_id:032x}" == TRACE
