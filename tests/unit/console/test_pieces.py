"""The console's pure parts: password hashes, redaction, SLA clocks, SVG charts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from crossdock.console.charts import Series, bar_chart, line_chart
from crossdock.console.redaction import MASK, Redactor
from crossdock.console.security import hash_password, password_problem, token_hash, verify_password
from crossdock.console.sla import DEFAULT_CLOCKS, describe, reading
from crossdock.ports.store import BusinessException, ExceptionClass

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_passwords_are_salted_scrypt_hashes_that_verify_only_the_password() -> None:
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first != second
    assert first.startswith("scrypt$32768$8$3$")
    assert verify_password("correct horse battery", first)
    assert not verify_password("correct horse batterY", first)
    for broken in ("", "bcrypt$x", "scrypt$a$b$c$d$e", first.rsplit("$", 1)[0]):
        assert not verify_password("correct horse battery", broken)
    assert password_problem("short") is not None
    assert password_problem(" padded password ") is not None
    assert password_problem("a long enough one") is None
    assert token_hash("t") == token_hash("t") != token_hash("u")


def test_redaction_masks_personal_values_and_keeps_business_keys() -> None:
    redact = Redactor()
    document = {
        "number": "C-1001",
        "name": "Harbor Supply",
        "contacts": [{"first_name": "Ana", "email": "ana@harbor.example", "phone": "+1 614 555 0100"}],
        "addresses": [{"line1": "1 Dock St", "city": "Columbus", "postal_code": "43215"}],
        "note": "call ana@harbor.example or 614-555-0100; card 4111 1111 1111 1111",
        "order_date": "2026-11-22",
        "lines": [{"sku": "SKU-1", "quantity": 5}],
        "bank_account": None,
    }
    shown = redact.document(document)
    assert shown["number"] == "C-1001"
    assert shown["contacts"] == [{"first_name": MASK, "email": MASK, "phone": MASK}]
    assert shown["addresses"][0] == {"line1": MASK, "city": "Columbus", "postal_code": "43215"}
    assert shown["note"] == f"call {MASK} or {MASK}; card {MASK}"
    assert (shown["order_date"], shown["lines"], shown["bank_account"]) == (
        "2026-11-22",
        [{"sku": "SKU-1", "quantity": 5}],
        None,
    )
    assert Redactor().with_keys(["Customer Reference"]).document({"customer_reference": "x"}) == {
        "customer_reference": MASK
    }
    edi = "ISA*00*          *00*          *ZZ*ACME~N1*ST*Harbor~PER*IC*Ana*EM*ana@harbor.example~"
    assert "ana@harbor.example" not in redact.text(edi)
    assert redact.text(edi).startswith("ISA*00*")


def exception(reason: str, cls: ExceptionClass = ExceptionClass.POLICY_VIOLATION, **details: str) -> BusinessException:
    return BusinessException(cls, reason, "order-desk", details=dict(details), created_at=T0)


def test_sla_clocks_pick_the_first_matching_rule_and_measure_from_the_start() -> None:
    hold = reading(exception("customer Harbor is on credit hold"), DEFAULT_CLOCKS, T0 + timedelta(hours=3))
    assert hold is not None
    assert (hold.clock.label, hold.breached, describe(hold.elapsed)) == (
        "order on credit hold for more than 2 h",
        True,
        "3 h",
    )
    late_855 = exception(
        "no 855 from acme", ExceptionClass.DOWNSTREAM_OUTAGE, sla="855", sent_at="2026-11-22T07:00:00+00:00"
    )
    clock = reading(late_855, DEFAULT_CLOCKS, T0)
    assert clock is not None
    assert (clock.clock.name, clock.breached, describe(clock.elapsed)) == ("855", True, "1 d 1 h")
    fresh = reading(exception("bad postcode", ExceptionClass.DATA_QUALITY), DEFAULT_CLOCKS, T0 + timedelta(hours=2))
    assert fresh is not None
    assert (fresh.clock.name, fresh.breached, describe(fresh.remaining)) == ("data_quality", False, "22 h")
    assert 0 < fresh.share < 1


@pytest.mark.parametrize("name", ["customers <script>", "a & b"])
def test_charts_are_well_formed_svg_with_escaped_text(name: str) -> None:
    points = [(T0 + timedelta(minutes=m), float(v)) for m, v in ((0, 0), (5, 12), (10, 3))]
    for svg in (
        line_chart(f"Throughput of {name}", [Series(name, points), Series("other", points[:1])]),
        bar_chart(f"Exceptions of {name}", points, unit=" /m"),
        line_chart("Nothing", []),
        bar_chart("Nothing", [(T0, 0.0)]),
    ):
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        assert "<script" not in svg
        assert "style=" not in svg  # the page's CSP allows no inline styles
    assert "polyline" in line_chart("t", [Series("s", points)])
    assert line_chart("t", [Series("s", [(T0, 0.04)])]).count("0.04") >= 1
