"""A drop-ship supplier over EDI and real SFTP: our 850 out, its 855, 856 and 810 back as events naming our PO, 997s
for what it sent, damaged files to failed/ with an exception, the 855, 856 and 810 SLA clocks, and a supplier's
price list as a CSV file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crossdock.bootstrap import Runtime, bootstrap
from crossdock.config import Settings
from crossdock.demo.edi_day import PASSWORD_ENV, partner_entry
from crossdock.edi.x12 import InterchangeParties
from crossdock.events.envelope import CloudEvent, event_type
from crossdock.model.addresses import Address, AddressKind
from crossdock.model.common import ExternalRef, Money, Quantity, Sourcing
from crossdock.model.purchasing import (
    LineAcknowledgementStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)
from crossdock.partners.service import PartnerService
from crossdock.ports.partners import CLOSED, DocumentDirection
from crossdock.sandbox.edi_supplier import LineAnswer, ScriptedSupplier
from crossdock.sandbox.sftp import SftpSandbox, SftpUser

PASSWORD = "acme-edi-Pa55"
SUPPLIER_ID = "sup-acme"
READER = "test.reader"


@dataclass
class World:
    runtime: Runtime
    service: PartnerService
    supplier: ScriptedSupplier
    home: Path


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    async with SftpSandbox(tmp_path / "sftp", users=[SftpUser("acme", password=PASSWORD)]) as sandbox:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'store.db'}",
            event_log="sqlite",
            event_log_url=str(tmp_path / "log.db"),
            partitions=4,
            partners={"acme": partner_entry(sandbox, SUPPLIER_ID)},
        )
        runtime = await bootstrap(settings)
        home = sandbox.home("acme")
        supplier = ScriptedSupplier(
            home, SUPPLIER_ID, InterchangeParties(sender_id="ACMESUPPLY", receiver_id="CROSSDOCK")
        )
        try:
            yield World(runtime, runtime.partner_service("test"), supplier, home)
        finally:
            await runtime.close()


def purchase_order(number: str = "4711") -> PurchaseOrder:
    return PurchaseOrder(
        id=f"ord-9.po.{number}",
        number=number,
        supplier_id=SUPPLIER_ID,
        kind=Sourcing.DROP_SHIP,
        status=PurchaseOrderStatus.ISSUED,
        order_date=date(2026, 11, 23),
        currency="USD",
        ship_to=Address(
            kind=AddressKind.SHIP_TO,
            country="US",
            lines=["100 Distribution Dr"],
            city="Columbus",
            region="OH",
            postal_code="43215",
            name="Jane Buyer",
        ),
        sales_order_id="ord-9",
        lines=[
            PurchaseOrderLine(
                line_number=1,
                item_id="item:DS-1",
                sku="DS-1",
                ordered_quantity=Quantity.of(3, "EA"),
                unit_cost=Money(currency="USD", amount=Decimal("12.50")),
            ),
            PurchaseOrderLine(
                line_number=2,
                item_id="item:DS-2",
                sku="DS-2",
                ordered_quantity=Quantity.of(1, "CS"),
                unit_cost=Money(currency="USD", amount=Decimal("99.00")),
            ),
        ],
    )


async def issue(world: World, order: PurchaseOrder) -> None:
    event = CloudEvent(
        type=event_type("purchase_order", "issued"),
        source="/processes/quote_to_order",
        subject=order.id,
        data=order.model_dump(mode="json"),
    )
    await world.runtime.publisher.publish([event])


async def logged(world: World, kind: str) -> list[CloudEvent]:
    batch = await world.runtime.log.read(None, 0, 1000)
    return [e.event for e in batch if e.event.type == kind]


async def test_an_850_goes_out_and_the_suppliers_855_and_856_come_back_naming_our_po(world: World) -> None:
    order = purchase_order()
    await issue(world, order)
    assert await world.service.run_once() == 1
    [sent] = sorted((world.home / "outbound").glob("850_*.edi"))
    text = sent.read_text()
    assert text.startswith("ISA*")
    assert "BEG*00*DS*4711*" in text
    assert text.count("PO1*") == 2

    assert world.supplier.run_once() == 2  # an 855 and, with no delay, an 856
    await world.service.run_once()
    [ack] = await logged(world, event_type("po_acknowledgement", "received"))
    [notice] = await logged(world, event_type("ship_notice", "received"))
    assert ack.data["purchase_order_id"] == order.id
    assert ack.data["status"] == "accepted"
    assert [o["purchase_order_id"] for o in notice.data["orders"]] == [order.id]
    assert notice.partnerid == SUPPLIER_ID
    assert sorted(p.name for p in (world.home / "processed").iterdir()) == ["855_4711.edi", "856_4711.edi"]
    assert list((world.home / "inbound").iterdir()) == []
    acks = sorted((world.home / "outbound").glob("997_*.edi"))
    assert len(acks) == 2
    assert all("AK5*A" in p.read_text() for p in acks)
    with world.runtime.store.unit_of_work(read_only=True) as uow:
        [journaled] = uow.partners.find("acme", DocumentDirection.OUTBOUND, "850", "4711")
        assert journaled.answered_at is not None


async def test_the_same_po_issued_again_resends_the_same_850(world: World) -> None:
    order = purchase_order()
    await issue(world, order)
    await world.service.run_once()
    [first] = sorted((world.home / "outbound").glob("850_*.edi"))
    content = first.read_bytes()
    first.unlink()
    await world.runtime.publisher.publish(
        [
            CloudEvent(
                type=event_type("purchase_order", "issued"),
                source="/replay",
                subject=order.id,
                data=order.model_dump(mode="json"),
            )
        ]
    )
    await world.service.run_once()
    [again] = sorted((world.home / "outbound").glob("850_*.edi"))
    assert (again.name, again.read_bytes()) == (first.name, content)  # same control numbers, same bytes


async def test_a_damaged_file_goes_to_failed_with_its_reason_and_an_exception_with_the_raw_file(world: World) -> None:
    await issue(world, purchase_order())
    await world.service.run_once()
    world.supplier.broken = True
    world.supplier.run_once()
    await world.service.run_once()
    failed = sorted(p.name for p in (world.home / "failed").iterdir())
    assert failed == ["855_4711.edi", "855_4711.edi.error.txt", "856_4711.edi", "856_4711.edi.error.txt"]
    assert list((world.home / "inbound").iterdir()) == []  # the poller went on past both
    rejections = [p.read_text() for p in (world.home / "outbound").glob("997_*.edi")]
    assert any("AK9*R" in text for text in rejections)  # what could be read of the 856 was rejected, with why
    assert await logged(world, event_type("po_acknowledgement", "received")) == []
    assert await logged(world, event_type("ship_notice", "received")) == []
    with world.runtime.store.unit_of_work(read_only=True) as uow:
        exceptions = {e.subject: e for e in uow.exceptions.list(limit=10) if e.owner_queue == "edi"}
    assert sorted(exceptions) == ["855_4711.edi", "856_4711.edi"]
    for name, exception in exceptions.items():
        assert exception.raw_payload is not None
        assert exception.raw_payload.startswith("ISA*")
        assert name in exception.reason


async def test_no_855_within_the_sla_raises_one_exception_for_purchasing(world: World) -> None:
    await issue(world, purchase_order())
    await world.service.run_once()
    assert world.service.check_slas() == 0
    world.service._clock = lambda: datetime.now(UTC) + timedelta(hours=25)  # a day later, still no 855
    assert world.service.check_slas() == 1
    assert world.service.check_slas() == 1  # the same exception, not a second one
    with world.runtime.store.unit_of_work(read_only=True) as uow:
        late = [e for e in uow.exceptions.list(limit=10) if e.owner_queue == "purchasing"]
    assert len(late) == 1
    assert "no 855 from acme for PO 4711" in late[0].reason


async def test_a_csv_inventory_feed_is_taken_row_by_row_and_its_errors_sent_back(world: World) -> None:
    reader = world.service.readers["acme"]
    world.service.readers = {
        "acme": type(reader)(
            replace(reader.profile, csv_files="inventory"),
            world.runtime.store,
            world.runtime.publisher,
            world.service.mailboxes["acme"],
            clock=lambda: datetime.now(UTC),
        )
    }
    feed = b"sku,location,uom,on_hand,allocated\nDS-1,DC1,EA,40,5\nDS-2,DC1,EA,lots,0\nDS-3,DC2,CS,3,\n"
    (world.home / "inbound" / "stock_20261123.csv").write_bytes(feed)
    await world.service.run_once()
    positions = await logged(world, event_type("inventory_position", "updated"))
    assert sorted(e.data["sku"] for e in positions) == ["DS-1", "DS-3"]
    assert [p.name for p in (world.home / "processed").iterdir()] == ["stock_20261123.csv"]
    report = (world.home / "outbound" / "stock_20261123.csv.errors.csv").read_text()
    assert "on_hand is 'lots', not a number" in report


def with_profile(world: World, **changes: Any) -> None:
    """The acme reader with its profile changed, as if its partners: entry said so."""
    reader = world.service.readers["acme"]
    world.service.readers = {
        "acme": type(reader)(
            replace(reader.profile, **changes),
            world.runtime.store,
            world.runtime.publisher,
            world.service.mailboxes["acme"],
            clock=lambda: datetime.now(UTC),
        )
    }


def late(world: World, sla: str) -> list[str]:
    with world.runtime.store.unit_of_work(read_only=True) as uow:
        return [e.reason for e in uow.exceptions.list(limit=50) if e.details.get("sla") == sla]


async def test_the_810_names_our_po_and_the_erp_purchase_is_cross_referenced_with_it(world: World) -> None:
    order = purchase_order().model_copy(update={"external_refs": [ExternalRef(system="erp", local_id="31")]})
    await issue(world, order)
    await world.service.run_once()
    world.supplier.invoice = True
    assert world.supplier.run_once() == 3  # 855, 856, 810
    await world.service.run_once()

    [invoice] = await logged(world, event_type("invoice", "received"))
    assert invoice.data["order_ids"] == [order.id]
    assert (invoice.data["customer_po"], invoice.data["number"], invoice.correlationid) == ("4711", "INV-4711", "4711")
    assert [line["sku"] for line in invoice.data["lines"]] == ["DS-1", "DS-2"]
    with world.runtime.store.unit_of_work(read_only=True) as uow:
        assert [d.file_name for d in uow.partners.find("acme", DocumentDirection.INBOUND, "810", "4711")] == [
            "810_4711.edi"
        ]
        purchase = uow.xrefs.find_local("purchase_order", order.id, "erp")
        assert purchase is not None
        assert purchase.local_id == "31"  # how the booking of the 810 finds the ERP's purchase


async def test_no_856_or_810_within_the_declared_slas_raises_one_exception_each(world: World) -> None:
    with_profile(world, ship_notice_within=timedelta(days=2), invoice_within=timedelta(days=10))
    await issue(world, purchase_order())
    await world.service.run_once()
    world.supplier.ship_after_s = 3600  # it acknowledges now and ships much later
    world.supplier.run_once()
    await world.service.run_once()
    assert late(world, "855") == []

    three_days_on = datetime.now(UTC) + timedelta(days=3)
    world.service._clock = lambda: three_days_on
    assert world.service.check_slas() == 1
    assert world.service.check_slas() == 1  # the same exception, not a second one
    [no_asn] = late(world, "856")
    assert no_asn.startswith("no 856 from acme for PO 4711 within 2 days of the 850")
    assert late(world, "810") == []

    world.supplier.ship_after_s = 0
    world.supplier.run_once()
    await world.service.run_once()  # its 856 arrives (checked against the clock of three days on)
    world.service._clock = lambda: three_days_on + timedelta(days=8)
    assert world.service.check_slas() == 1  # the 856 is in; the 810 is now late
    [no_invoice] = late(world, "810")
    assert "no 810 from acme for PO 4711 within 10 days" in no_invoice


async def test_a_po_rejected_in_full_is_due_no_ship_notice(world: World) -> None:
    with_profile(world, ship_notice_within=timedelta(days=2))
    await issue(world, purchase_order())
    await world.service.run_once()
    rejected = LineAnswer(LineAcknowledgementStatus.REJECTED, note="discontinued")
    world.supplier.answers = {"DS-1": rejected, "DS-2": rejected}
    assert world.supplier.run_once() == 1  # an 855; with nothing committed, no 856 follows
    await world.service.run_once()
    [ack] = await logged(world, event_type("po_acknowledgement", "received"))
    assert (ack.data["status"], [line["status"] for line in ack.data["lines"]]) == ("rejected", ["rejected"] * 2)

    world.service._clock = lambda: datetime.now(UTC) + timedelta(days=30)
    assert world.service.check_slas() == 0
    with world.runtime.store.unit_of_work(read_only=True) as uow:
        assert len(uow.partners.find("acme", DocumentDirection.INBOUND, CLOSED, "4711")) == 1


PRICES = b"""sku,price,currency,uom,valid_from,min_qty
DS-1,12.50,USD,EA,2026-12-01,1
DS-1,11.90,USD,EA,2026-12-01,25
DS-2,99.00,USD,CS,2026-12-01,1
DS-3,n/a,USD,EA,2026-12-01,1
"""


async def test_a_supplier_price_list_csv_becomes_price_events_and_its_errors_go_back(world: World) -> None:
    with_profile(world, csv_files="price_list")
    (world.home / "inbound" / "prices_2026-12.csv").write_bytes(PRICES)
    await world.service.run_once()
    prices = await logged(world, event_type("price_list", "received"))
    assert [(e.data["entries"][0]["sku"], len(e.data["entries"][0]["breaks"])) for e in prices] == [
        ("DS-1", 2),
        ("DS-2", 1),
    ]
    assert {e.partnerid for e in prices} == {SUPPLIER_ID}
    assert [p.name for p in (world.home / "processed").iterdir()] == ["prices_2026-12.csv"]
    report = (world.home / "outbound" / "prices_2026-12.csv.errors.csv").read_text()
    assert "price is 'n/a', not a number" in report
