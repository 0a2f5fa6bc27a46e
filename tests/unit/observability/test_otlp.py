"""OTLP export: off by default, its endpoint checked like every outbound URL, and spans arrive at a collector."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from crossdock.bootstrap import BootstrapError, open_trace_sink
from crossdock.config import ConfigError, Settings, load_settings
from crossdock.observability import tracing
from crossdock.observability.keeper import MemoryTraceKeeper


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver on loopback that keeps what it was sent."""

    received: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Collector.received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def collector() -> Iterator[str]:
    Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    finally:
        server.shutdown()
        server.server_close()


def settings(**observability: object) -> Settings:
    return Settings(observability=observability)


def test_otlp_is_off_unless_configured() -> None:
    sink = open_trace_sink(settings(), MemoryTraceKeeper())
    assert sink is not None
    try:
        assert len(sink.processors) == 1  # the keeper only
    finally:
        sink.close()
    assert open_trace_sink(settings(tracing=False), MemoryTraceKeeper()) is None


def test_a_collector_on_a_private_address_must_be_allowed(collector: str) -> None:
    with pytest.raises(BootstrapError, match="otlp_allow_private_network"):
        open_trace_sink(settings(otlp_endpoint=collector), MemoryTraceKeeper())
    with pytest.raises(BootstrapError, match="not an http"):
        open_trace_sink(settings(otlp_endpoint="ftp://collector.example/v1/traces"), MemoryTraceKeeper())


def test_spans_reach_the_collector_with_the_configured_headers(
    collector: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTLP_HEADERS", "x-api-key=k3y-for-the-collector, x-team=integration")
    sink = open_trace_sink(
        settings(
            otlp_endpoint=collector,
            otlp_allowed_hosts=["127.0.0.1"],
            otlp_headers="env:OTLP_HEADERS",
            service_name="crossdock-test",
        ),
        MemoryTraceKeeper(),
    )
    assert sink is not None
    try:
        with tracing.span("POST /v1/orders", kind=tracing.SpanKind.SERVER, attributes={"http.route": "/v1/orders"}):
            pass
        assert sink.flush()
    finally:
        sink.close()

    ((path, headers, body),) = Collector.received
    assert path == "/v1/traces"
    assert headers["x-api-key"] == "k3y-for-the-collector"
    assert headers["x-team"] == "integration"
    request = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = request.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
    assert service == "crossdock-test"
    (span,) = resource_spans.scope_spans[0].spans
    assert span.name == "POST /v1/orders"


def test_a_literal_header_value_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "crossdock.yaml"
    config.write_text("observability:\n  otlp_headers: x-api-key=k3y\n")
    with pytest.raises(ConfigError, match="must be a secret reference"):
        load_settings(config, env={})
