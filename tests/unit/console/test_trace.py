"""The shared timeline (`orders.trace.Tracer`): lineage, exceptions, the API's order and EDI files about one key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crossdock.orders.trace import Tracer, TraceSystems
from crossdock.ports.partners import DocumentDirection, PartnerDocument
from crossdock.ports.store import BusinessException, CrossReference, ExceptionClass, LineageEntry
from crossdock.process import ProcessEngine
from crossdock.store.memory import MemoryStore

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_a_customer_found_by_a_system_id_shows_its_captures_deliveries_and_exceptions() -> None:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.lineage.record(
            [
                LineageEntry(
                    "c1", "crm", "capture.customer", "captured", "cus_1", "e1", {"crm_id": "001A"}, started_at=T0
                ),
                LineageEntry(
                    "c1", "erp", "deliver.customer", "delivered", "cus_1", "e1", started_at=T0 + timedelta(seconds=2)
                ),
            ]
        )
        uow.xrefs.link(CrossReference("customer", "cus_1", "crm", "001A"))
        uow.xrefs.link(CrossReference("customer", "cus_1", "erp", "17"))
        exception_id = uow.exceptions.raise_exception(
            BusinessException(
                ExceptionClass.POLICY_VIOLATION,
                "terms are the ERP's",
                "erp-customer",
                subject="cus_1",
                created_at=T0 + timedelta(seconds=5),
            )
        )
        uow.commit()
    engine = ProcessEngine(store, owner="t")
    try:
        trace = Tracer(store, engine).trace(" 001A ")
    finally:
        engine.close()
    assert trace.found
    assert (trace.entity, trace.references) == ("customer", {"crm": "001A", "erp": "17", "canonical": "cus_1"})
    assert [(row.kind, row.system, row.step) for row in trace.rows] == [
        ("lineage", "crm", "capture.customer"),
        ("lineage", "erp", "deliver.customer"),
        ("exception", "crossdock", f"exception #{exception_id} (erp-customer)"),
    ]


def test_edi_files_of_a_purchase_order_are_found_through_the_partner_the_lineage_names() -> None:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.lineage.record(
            [
                LineageEntry(
                    "so-1",
                    "edi-acme",
                    "850 sent",
                    "sent",
                    "po-1",
                    "e850",
                    {"po": "PO-77"},
                    {"partner": "acme"},
                    started_at=T0,
                )
            ]
        )
        uow.partners.record(
            PartnerDocument(
                "acme",
                DocumentDirection.OUTBOUND,
                "850",
                "PO-77",
                "0001",
                "850_PO-77.edi",
                b"ISA*00*~BEG*00*DS*PO-77~PER*IC*Ana*EM*ana@acme.example~",
                at=T0,
            )
        )
        uow.partners.record(
            PartnerDocument(
                "acme",
                DocumentDirection.INBOUND,
                "855",
                "PO-77",
                "7001",
                "855_PO-77.edi",
                b"ISA~",
                at=T0 + timedelta(hours=2),
            )
        )
        uow.commit()
    engine = ProcessEngine(store, owner="t")
    try:
        trace = Tracer(store, engine, TraceSystems(partners={})).trace("PO-77")
        nothing = Tracer(store, engine).trace("PO-404")
    finally:
        engine.close()
    edi = [row for row in trace.rows if row.kind == "edi"]
    assert [row.step for row in edi] == ["EDI 850 sent to acme", "EDI 855 received from acme"]
    assert "BEG*00*DS*PO-77" in edi[0].document
    assert not nothing.found
