"""JSON log lines with correlation and trace ids; secrets never reach a log line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crossdock.bootstrap import secret_values
from crossdock.config import Settings
from crossdock.observability import logs, tracing
from crossdock.observability.export import open_sink
from crossdock.observability.logs import Redactor


@pytest.mark.parametrize(
    ("line", "kept", "gone"),
    [
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "Bearer ***", "eyJhbGci"),
        ("headers={'authorization': 'Basic YWNtZTpzM2NyZXQ='}", "Basic ***", "YWNtZTpz"),
        ("authorization=abcdef123456", "authorization=***", "abcdef123456"),
        ("Authorization: Session YWRtaW46MTp0b2tlbg==", "Session ***", "YWRtaW46"),
        ("client acme-portal secret cdsk_Zm9vYmFyYmF6cXV4X2FiY2RlZg_1a2b3c4d rotated", "cdsk_***", "Zm9vYmFy"),
        ("operator key cdk_T3BlcmF0b3JLZXlUZXN0_9f8e7d6c", "cdk_***", "T3BlcmF0"),
        ("webhook secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_***", "MfKQ9r8G"),
        ("token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln&next=1", "token=***", "eyJhbGci"),
        ('{"password": "hunter2", "username": "admin"}', '"password": "***"', "hunter2"),
        ("login with password=s3cret! failed", "password=***", "s3cret"),
        ("client_secret=abc123xyz&grant_type=client_credentials", "client_secret=***", "abc123xyz"),
        ("postgresql://crossdock:pg-pass@db:5432/crossdock", "crossdock:***@db", "pg-pass"),
        ("bare JWT eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJjcm9zc2RvY2sifQ.sig in a message", "***", "eyJpc3Mi"),
    ],
)
def test_secrets_are_redacted(line: str, kept: str, gone: str) -> None:
    redacted = Redactor()(line)
    assert kept in redacted
    assert gone not in redacted


def test_configured_secret_values_are_redacted_wherever_they_appear() -> None:
    redact = Redactor(["Tr1tonAdminPass", "abc"])  # too short to redact safely: left alone
    assert redact("Tryton said: bad login Tr1tonAdminPass for admin") == "Tryton said: bad login *** for admin"
    assert redact("abc stays") == "abc stays"
    assert redact("an order for 12 cases of SKU-1001") == "an order for 12 cases of SKU-1001"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    level = logging.getLogger().level
    handler = logs.configure_logging(format="json", level="INFO", secrets=["Tr1tonAdminPass"], stream=stream)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_correlation_and_trace_ids_and_no_secrets(captured: io.StringIO) -> None:
    log = logging.getLogger("crossdock.test")
    exporter = InMemorySpanExporter()
    sink = open_sink(service_name="t", sampling_ratio=1.0, processors=[SimpleSpanProcessor(exporter)])
    try:
        with logs.correlation("req-42"), tracing.span("POST /v1/orders") as current:
            log.info("calling %s with password=%s", "erp", "Tr1tonAdminPass", extra={"order": "SO-1"})
            trace_id = f"{current.get_span_context().trace_id:032x}"
    finally:
        sink.close()
    log.warning("outside")

    inside, outside = lines(captured)
    assert inside["message"] == "calling erp with password=***"
    assert inside["correlation_id"] == "req-42"
    assert inside["trace_id"] == trace_id
    assert inside["level"] == "INFO"
    assert inside["logger"] == "crossdock.test"
    assert inside["order"] == "SO-1"
    assert "correlation_id" not in outside
    assert "trace_id" not in outside


def test_exception_text_is_redacted(captured: io.StringIO) -> None:
    try:
        raise RuntimeError("refused: Authorization: Bearer abcdefghijklmnop")
    except RuntimeError:
        logging.getLogger("crossdock.test").exception("the call failed")
    (entry,) = lines(captured)
    assert "RuntimeError" in str(entry["exception"])
    assert "abcdefghijklmnop" not in str(entry["exception"])


def test_text_format_is_redacted_too() -> None:
    stream = io.StringIO()
    level = logging.getLogger().level
    handler = logs.configure_logging(format="text", secrets=["Tr1tonAdminPass"], stream=stream)
    try:
        with logs.correlation("req-7"):
            logging.getLogger("crossdock.test").warning("retrying with Tr1tonAdminPass")
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level)
    text = stream.getvalue()
    assert "retrying with ***" in text
    assert text.rstrip().endswith("[req-7]")


def test_every_secret_reference_in_the_settings_is_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "sftp_key"
    key_file.write_text("-----BEGIN KEY----- sftp-private-key-material\n")
    monkeypatch.setenv("CD_SIGNING", "k1:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI")
    monkeypatch.setenv("CD_CARRIER", "whsec_Y2Fycmllci13ZWJob29rLXNlY3JldA==")
    monkeypatch.setenv("CD_TRYTON", "Tr1tonAdminPass")
    settings = Settings(
        systems={"erp": {"type": "tryton", "url": "http://erp.example", "password": "env:CD_TRYTON"}},
        api={
            "signing_keys": "env:CD_SIGNING",
            "inbound_webhooks": {
                "carrier": {"signing_secrets": ["env:CD_CARRIER"], "event_type": "crossdock.shipment.delivered.v1"}
            },
        },
        observability={"otlp_headers": f"file:{key_file}"},
    )
    found = secret_values(settings)
    assert set(found) == {
        "Tr1tonAdminPass",
        "k1:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI",
        "whsec_Y2Fycmllci13ZWJob29rLXNlY3JldA==",
        "-----BEGIN KEY----- sftp-private-key-material",
    }
    redact = Redactor(found)
    assert redact("keys k1:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI in use") == "keys *** in use"
    monkeypatch.delenv("CD_TRYTON")
    assert "Tr1tonAdminPass" not in secret_values(settings)  # unreadable now: its component will say so
