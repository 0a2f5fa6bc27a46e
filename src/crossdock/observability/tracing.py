"""Spans at the hops that matter, on the OpenTelemetry API, and the W3C trace context a CloudEvent carries.

Instrumented code (the API middleware, order intake, the process runner, the connector clients) opens spans with
`span(...)` and never configures anything. Where finished spans go is decided by the composition root, which opens
one `TraceSink` per runtime (`crossdock.observability.export`); spans go to the newest one open. With none open, a
span is OpenTelemetry's no-op span: a few microseconds, recorded nowhere.

OpenTelemetry keeps its tracer provider process-global, and setting it twice is refused; a test suite or a CLI
bootstraps many runtimes in one process. So the sinks register here while they are open and leave on close,
and the process-global provider is never touched.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from crossdock.events.envelope import CloudEvent
from crossdock.observability import logs

__all__ = [
    "SpanKind",
    "StatusCode",
    "consuming",
    "context_from_traceparent",
    "current_trace_id",
    "current_traceparent",
    "extract",
    "inject",
    "mark_error",
    "request_span",
    "span",
    "tag",
]

SCOPE = "crossdock"
# Span attributes of our own; OpenTelemetry's semantic conventions name the rest (http.*, rpc.*, messaging.*).
SYSTEM = "crossdock.system"  # the configured name of the external system a call goes to
BUSINESS_KEY = "crossdock.business_key"  # an order number, a PO number: what the console finds a trace by
CORRELATION_ID = "crossdock.correlation_id"

_PROPAGATOR = TraceContextTextMapPropagator()
_NO_OP = trace.NoOpTracer()


class TracerSource(Protocol):
    """What an open sink registers: a tracer whose spans it receives."""

    @property
    def tracer(self) -> trace.Tracer:
        """The tracer spans are started on while this sink is the newest open."""
        ...

    @property
    def sampling_ratio(self) -> float:
        """The share of requests coming in without a trace that are recorded (`request_span`)."""
        ...


_open: list[TracerSource] = []  # newest last


def register(sink: TracerSource) -> None:
    """Make `sink` receive spans started from now on (until `unregister`)."""
    _open.append(sink)


def unregister(sink: TracerSource) -> None:
    """Stop sending spans to `sink`; spans already started still end there."""
    if sink in _open:
        _open.remove(sink)


def _tracer() -> trace.Tracer:
    return _open[-1].tracer if _open else _NO_OP


def tracing_on() -> bool:
    """Whether any sink is open: callers may skip building attributes that only a recorded span would keep."""
    return bool(_open)


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
    parent: otel_context.Context | None = None,
) -> Iterator[trace.Span]:
    """A span around the block, current inside it; an exception leaving the block marks it as an error.

    `parent` continues a trace from elsewhere (an event, a process instance); without it the current span is
    the parent, or the span starts a trace.
    """
    with _tracer().start_as_current_span(name, context=parent, kind=kind, attributes=attributes) as current:
        yield current


@contextmanager
def request_span(name: str, *, traceparent: str | None, attributes: Mapping[str, Any]) -> Iterator[trace.Span]:
    """The span of a request coming in: recorded when sampled, else a non-recording span that still carries a trace
    id, so that the work the request causes (its events, their processes) joins the same, unsampled, trace.

    Sampled here rather than by the SDK: the SDK builds a span object even for a request its sampler drops, and on
    the order route that cost more than a tenth of the request. A caller's `traceparent` decides for its trace.
    """
    if not _open:
        yield trace.INVALID_SPAN
        return
    parent = context_from_traceparent(traceparent) if traceparent else None
    if parent is not None:
        caller = trace.get_current_span(parent).get_span_context()
        sampled = caller.trace_flags.sampled
        trace_id = caller.trace_id
    else:
        sampled = random.random() < _open[-1].sampling_ratio  # noqa: S311 - sampling, not secrecy
        trace_id = random.getrandbits(128)  # as the SDK's id generator makes them
    if sampled:
        with span(name, kind=SpanKind.SERVER, parent=parent, attributes=attributes) as current:
            yield current
        return
    dropped = trace.NonRecordingSpan(
        trace.SpanContext(trace_id, random.getrandbits(64), is_remote=False, trace_flags=trace.TraceFlags(0))
    )
    with trace.use_span(dropped, end_on_exit=False):
        yield dropped


@contextmanager
def consuming(event: CloudEvent, name: str, *, attributes: Mapping[str, Any] | None = None) -> Iterator[trace.Span]:
    """A CONSUMER span for handling `event`, continuing the trace the event carries; log lines inside carry the
    event's correlation id."""
    correlation_id = event.correlationid or event.id
    with (
        logs.correlation(correlation_id),
        span(
            name,
            kind=SpanKind.CONSUMER,
            parent=extract(event),
            attributes={
                "messaging.system": "crossdock",
                "messaging.message.id": event.id,
                "cloudevents.event_type": event.type,
                "cloudevents.event_subject": event.subject,
                CORRELATION_ID: correlation_id,
                **(attributes or {}),
            },
        ) as current,
    ):
        yield current


def recording() -> bool:
    """Whether the current span is recorded (sampled): what to tag it with need not be worked out otherwise."""
    return trace.get_current_span().is_recording()


def tag(attributes: Mapping[str, Any]) -> None:
    """Add attributes to the current span, when it is recorded (an order number learnt half-way through)."""
    current = trace.get_current_span()
    if current.is_recording():
        current.set_attributes(attributes)


def mark_error(current: trace.Span, description: str) -> None:
    """Mark a span failed without an exception (a refusal, a dead letter)."""
    current.set_status(Status(StatusCode.ERROR, description))


# --- W3C trace context, as the CloudEvents distributed tracing extension carries it ---


def current_traceparent() -> str | None:
    """The current span's W3C `traceparent`, or None outside any span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def current_trace_id() -> str | None:
    """The current trace's id (32 hex digits), or None outside any span."""
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None


def context_from_traceparent(traceparent: str | None) -> otel_context.Context | None:
    """A context whose parent is the span `traceparent` names; None when there is none or it is malformed."""
    if not traceparent:
        return None
    extracted = _PROPAGATOR.extract({"traceparent": traceparent})
    if not trace.get_current_span(extracted).get_span_context().is_valid:
        return None
    return extracted


def inject(event: CloudEvent) -> CloudEvent:
    """The event carrying the current span's trace context; unchanged outside any span."""
    traceparent = current_traceparent()
    if traceparent is None or traceparent == event.traceparent:
        return event
    return replace(event, traceparent=traceparent)


def extract(event: CloudEvent) -> otel_context.Context | None:
    """The trace context an event carries, to continue its trace; None when it carries none."""
    return context_from_traceparent(event.traceparent)
