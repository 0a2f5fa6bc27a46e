"""Where finished spans go: the local keeper for the console, OTLP when configured, and whatever a test adds.

A `TraceSink` is one runtime's OpenTelemetry SDK tracer provider: its service name, its sampling, its span
processors. The composition root opens one (`open_sink`) and closes it with the runtime; `tracing.span` starts
spans on the newest open sink. Needs the SDK (the `api` extra); instrumented code needs only the API.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind, StatusCode
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from crossdock.observability import tracing
from crossdock.observability.keeper import KeptSpan, SpanStatus, TraceKeeper

logger = logging.getLogger(__name__)

_KINDS = {
    SpanKind.SERVER: "server",
    SpanKind.CLIENT: "client",
    SpanKind.PRODUCER: "producer",
    SpanKind.CONSUMER: "consumer",
    SpanKind.INTERNAL: "internal",
}
_STATUS: dict[StatusCode, SpanStatus] = {StatusCode.UNSET: "unset", StatusCode.OK: "ok", StatusCode.ERROR: "error"}
_MAX_TEXT = 2_000  # an attribute or message longer than this is cut: the console shows spans, not payloads
_PRUNE_EVERY_S = 600.0


class RootSampler(Sampler):
    """Which new traces are recorded: `ratio` of them, but never one that would start at an outgoing call.

    A call with no span around it is a capture loop polling its source every second; a trace per poll would
    bury the traces that matter. Spans whose parent is known follow their parent's decision (`ParentBased`).
    """

    def __init__(self, ratio: float) -> None:
        self._ratio = TraceIdRatioBased(ratio)

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        """Drop root CLIENT spans; record root SERVER spans (`tracing.request_span` sampled them already); sample
        the other roots by ratio."""
        if kind is SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        if kind is SpanKind.SERVER:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        return self._ratio.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        """For diagnostics."""
        return f"CrossdockRoot{{{self._ratio.get_description()}}}"


def _text(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value[:_MAX_TEXT])
    if isinstance(value, tuple | list):
        return [_text(item, redact) for item in value]
    return value


def _at(nanos: int | None) -> datetime:
    return datetime.fromtimestamp((nanos or 0) / 1e9, UTC)


def kept_span(span: ReadableSpan, redact: Callable[[str], str] = lambda text: text) -> KeptSpan | None:
    """The console's record of a finished SDK span (None for a span without a context)."""
    context = span.context
    if context is None:
        return None
    attributes = {key: _text(value, redact) for key, value in (span.attributes or {}).items()}
    events = [
        {
            "name": event.name,
            "at": _at(event.timestamp).isoformat(),
            # A stack trace is for a developer's log, not for a table the console reads from.
            "attributes": {
                key: _text(value, redact)
                for key, value in (event.attributes or {}).items()
                if key != "exception.stacktrace"
            },
        }
        for event in span.events
    ]
    business_key = attributes.get(tracing.BUSINESS_KEY)
    service = span.resource.attributes.get("service.name", "crossdock") if span.resource else "crossdock"
    return KeptSpan(
        trace_id=f"{context.trace_id:032x}",
        span_id=f"{context.span_id:016x}",
        parent_span_id=f"{span.parent.span_id:016x}" if span.parent is not None else None,
        name=span.name,
        kind=_KINDS.get(span.kind, "internal"),
        service=str(service),
        started_at=_at(span.start_time),
        ended_at=_at(span.end_time or span.start_time),
        status=_STATUS.get(span.status.status_code, "unset"),
        status_message=redact(span.status.description[:_MAX_TEXT]) if span.status.description else None,
        business_key=str(business_key) if business_key is not None else None,
        attributes=attributes,
        events=events,
    )


class KeeperExporter(SpanExporter):
    """Hands finished spans to a `TraceKeeper`, and forgets spans older than `retention` now and then.

    Runs on the batch processor's thread: the keeper's write never sits on a request's path.
    """

    def __init__(
        self,
        keeper: TraceKeeper,
        *,
        retention: timedelta,
        redact: Callable[[str], str] = lambda text: text,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._keeper = keeper
        self._retention = retention
        self._redact = redact
        self._clock = clock
        self._pruned_at = 0.0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Keep the batch; a failure loses it (logged), it never reaches the code that made the spans."""
        kept = [k for span in spans if (k := kept_span(span, self._redact)) is not None]
        try:
            self._keeper.keep(kept)
            self._prune()
        except Exception:  # losing spans must not stop the exporter thread
            logger.warning("could not keep %d spans for the console", len(kept), exc_info=True)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _prune(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at < _PRUNE_EVERY_S:
            return
        self._pruned_at = now
        removed = self._keeper.prune(self._clock() - self._retention)
        if removed:
            logger.info("forgot %d spans older than %s", removed, self._retention)

    def shutdown(self) -> None:
        """Nothing to release: the keeper belongs to the store."""


@dataclass
class TraceSink:
    """One runtime's tracer provider: spans started while it is the newest open sink end up in its processors."""

    provider: TracerProvider
    sampling_ratio: float = 1.0  # share of requests coming in without a trace that are recorded
    processors: list[SpanProcessor] = field(default_factory=list)
    tracer: trace.Tracer = field(init=False)  # the one `tracing.span` starts spans on
    closed: bool = False

    def __post_init__(self) -> None:
        self.tracer = self.provider.get_tracer(tracing.SCOPE)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Hand every finished span to its processors' exporters now (tests, shutdown)."""
        return self.provider.force_flush(int(timeout_s * 1000))

    def close(self) -> None:
        """Stop receiving spans, export what is queued, and shut the exporters down (once; again is a no-op)."""
        if self.closed:
            return
        self.closed = True
        tracing.unregister(self)
        self.provider.shutdown()


def otlp_exporter(endpoint: str, headers: Mapping[str, str] | None = None) -> SpanExporter:
    """OTLP over HTTP (protobuf) to `endpoint` (the full URL, usually ending in `/v1/traces`).

    The caller has checked the endpoint against the egress policy; proxies from the environment are ignored so
    that the connection goes where the check said.
    """
    import requests
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    session = requests.Session()
    session.trust_env = False
    return OTLPSpanExporter(endpoint=endpoint, headers=dict(headers or {}), session=session, timeout=10)


def open_sink(
    *,
    service_name: str,
    sampling_ratio: float,
    keeper: TraceKeeper | None = None,
    retention: timedelta = timedelta(hours=72),
    exporters: Sequence[SpanExporter] = (),
    processors: Sequence[SpanProcessor] = (),
    redact: Callable[[str], str] = lambda text: text,
) -> TraceSink:
    """A sink sending spans to the keeper and the exporters (each batched on a thread of its own) and to the
    given processors as they are; registered at once, so spans started from now on reach it."""
    provider = TracerProvider(
        sampler=ParentBased(root=RootSampler(sampling_ratio)),
        resource=Resource.create({"service.name": service_name}),
        # The runtime closes its sink; an exit hook per provider would keep every closed runtime's alive.
        shutdown_on_exit=False,
    )
    sink = TraceSink(provider, sampling_ratio)
    batched: list[SpanExporter] = list(exporters)
    if keeper is not None:
        batched.insert(0, KeeperExporter(keeper, retention=retention, redact=redact))
    for exporter in batched:
        # Bigger, rarer batches than the SDK's default: each is one store transaction next to the API's own.
        sink.processors.append(
            BatchSpanProcessor(exporter, max_queue_size=8192, schedule_delay_millis=2000, max_export_batch_size=1024)
        )
    sink.processors.extend(processors)
    for processor in sink.processors:
        provider.add_span_processor(processor)
    tracing.register(sink)
    return sink
