"""Hypothesis strategies for canonical documents shaped as the X12 readers produce them (ids from the context)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import strategies as st

from crossdock.model import (
    AcknowledgementLine,
    AcknowledgementStatus,
    Address,
    AddressKind,
    Charge,
    ChargeKind,
    ExternalRef,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    LineAcknowledgementStatus,
    Money,
    PoAcknowledgement,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Quantity,
    ShipNotice,
    ShipNoticeItem,
    ShipNoticeOrder,
    ShipNoticePack,
    Sourcing,
    TaxLine,
    Weight,
)
from crossdock.model.scalars import gs1_check_digit_ok

from .support import CONTEXT

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -/.#"


def text(low: int = 1, high: int = 20) -> st.SearchStrategy[str]:
    """Printable X12-safe text without surrounding spaces."""
    return st.text(_ALPHABET, min_size=low, max_size=high).map(str.strip).filter(lambda v: len(v) >= low)


codes = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=2, max_size=15)
dates = st.dates(date(2000, 1, 1), date(2099, 12, 31))
uoms = st.sampled_from(["EA", "CS", "BX", "PK", "DZ"])
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(99999), places=2)
counts = st.decimals(min_value=Decimal(1), max_value=Decimal(5000), places=0)


def _check_digit(body: str) -> str:
    return next(body + d for d in "0123456789" if gs1_check_digit_ok(body + d))


gtins = st.text("0123456789", min_size=11, max_size=12).map(_check_digit)
ssccs = st.text("0123456789", min_size=17, max_size=17).map(_check_digit)


@st.composite
def addresses(draw: st.DrawFn, kind: AddressKind) -> Address:
    return Address(
        kind=kind,
        country="US",
        lines=draw(st.lists(text(1, 30), min_size=1, max_size=4)),
        city=draw(text(2, 20)),
        region=draw(st.sampled_from(["OH", "NY", "VA", "CA"])),
        postal_code=draw(st.from_regex(r"[0-9]{5}(-[0-9]{4})?", fullmatch=True)),
        name=draw(text(1, 30)),
        attention=draw(st.none() | text(1, 30)),
    )


@st.composite
def purchase_orders(draw: st.DrawFn) -> PurchaseOrder:
    number = draw(codes)
    drop_ship = draw(st.booleans())
    ship_to = draw(addresses(AddressKind.SHIP_TO)) if drop_ship else draw(st.none() | addresses(AddressKind.SHIP_TO))
    location = draw(codes) if ship_to is None else draw(st.none() | codes)
    currency = draw(st.sampled_from(["USD", "EUR"]))
    lines = []
    for line_number in range(1, draw(st.integers(1, 5)) + 1):
        sku = draw(codes)
        lines.append(
            PurchaseOrderLine(
                line_number=line_number,
                item_id=CONTEXT.item_id(sku),
                sku=sku,
                vendor_part_number=draw(st.none() | codes),
                description=draw(st.none() | text(1, 40)),
                ordered_quantity=Quantity.of(draw(counts), draw(uoms)),
                unit_cost=Money.of(draw(amounts), currency),
                requested_date=draw(st.none() | dates),
                promised_date=draw(st.none() | dates),
            )
        )
    return PurchaseOrder(
        id=CONTEXT.document_id("po", number),
        external_refs=[ExternalRef(system="edi", local_id=number)],
        number=number,
        supplier_id=CONTEXT.receiver_id,
        kind=Sourcing.DROP_SHIP if drop_ship else Sourcing.STOCKED,
        status=PurchaseOrderStatus.ISSUED,
        order_date=draw(dates),
        currency=currency,
        ship_to_location_id=location,
        ship_to=ship_to,
        sales_order_id=draw(codes) if drop_ship else draw(st.none() | codes),
        payment_terms=draw(st.none() | text(1, 30)),
        ship_method=draw(st.none() | codes),
        requested_date=draw(st.none() | dates),
        buyer=draw(st.none() | text(1, 30)),
        lines=lines,
    )


@st.composite
def acknowledgements(draw: st.DrawFn) -> PoAcknowledgement:
    po_number = draw(codes)
    number = draw(st.none() | codes)
    lines = []
    for line_number in draw(st.lists(st.integers(1, 999), unique=True, max_size=5)):
        status = draw(st.sampled_from(list(LineAcknowledgementStatus)))
        sku = draw(codes)
        rejected = status == LineAcknowledgementStatus.REJECTED
        lines.append(
            AcknowledgementLine(
                po_line_number=line_number,
                status=status,
                item_id=CONTEXT.item_id(sku),
                sku=sku,
                vendor_part_number=draw(st.none() | codes),
                quantity=draw(st.none()) if rejected and draw(st.booleans()) else Quantity.of(draw(counts), draw(uoms)),
                unit_cost=draw(st.none() | amounts.map(lambda a: Money.of(a, "USD"))),
                promised_date=draw(st.none() | dates),
            )
        )
    statuses = {line.status for line in lines}
    status = AcknowledgementStatus.ACCEPTED_WITH_CHANGES
    if statuses <= {LineAcknowledgementStatus.ACCEPTED}:
        status = AcknowledgementStatus.ACCEPTED
    elif statuses == {LineAcknowledgementStatus.REJECTED}:
        status = AcknowledgementStatus.REJECTED
    day = draw(dates)
    return PoAcknowledgement(
        id=CONTEXT.document_id("poack", po_number),
        external_refs=[ExternalRef(system="edi", local_id=number)] if number else [],
        number=number,
        purchase_order_id=CONTEXT.own_document_id("po", po_number),
        po_number=po_number,
        supplier_id=CONTEXT.sender_id,
        status=status,
        acknowledged_at=datetime(day.year, day.month, day.day, tzinfo=UTC),
        lines=lines,
    )


@st.composite
def _items(draw: st.DrawFn, low: int) -> list[ShipNoticeItem]:
    items = []
    for _ in range(draw(st.integers(low, 3))):
        sku = draw(codes)
        items.append(
            ShipNoticeItem(
                po_line_number=draw(st.integers(1, 999)),
                item_id=CONTEXT.item_id(sku),
                sku=sku,
                vendor_part_number=draw(st.none() | codes),
                gtin=draw(st.none() | gtins),
                quantity=Quantity.of(draw(counts), draw(uoms)),
                lot_number=draw(st.none() | codes),
                expiry_date=draw(st.none() | dates),
            )
        )
    return items


weights = st.builds(Weight, value=amounts, unit=st.sampled_from(["LB", "KG"]))


@st.composite
def ship_notices(draw: st.DrawFn) -> ShipNotice:
    number = draw(codes)
    orders = []
    used_ssccs: set[str] = set()
    for _ in range(draw(st.integers(1, 3))):
        po_number = draw(codes)
        packs = []
        for _ in range(draw(st.integers(0, 2))):
            sscc = draw(st.none() | ssccs.filter(lambda s: s not in used_ssccs))
            if sscc:
                used_ssccs.add(sscc)
            packs.append(ShipNoticePack(sscc=sscc, weight=draw(st.none() | weights), items=draw(_items(1))))
        items = draw(_items(0 if packs else 1))
        orders.append(
            ShipNoticeOrder(
                purchase_order_id=CONTEXT.own_document_id("po", po_number),
                po_number=po_number,
                packs=packs,
                items=items,
            )
        )
    ship_to = draw(st.none() | addresses(AddressKind.SHIP_TO))
    shipped = draw(st.datetimes(datetime(2000, 1, 1), datetime(2099, 1, 1))).replace(microsecond=0, tzinfo=UTC)
    return ShipNotice(
        id=CONTEXT.document_id("asn", number),
        external_refs=[ExternalRef(system="edi", local_id=number)],
        number=number,
        supplier_id=CONTEXT.sender_id,
        shipped_at=shipped,
        expected_delivery=draw(st.none() | dates),
        carrier=draw(st.none() | codes),
        ship_method=draw(st.none() | codes),
        tracking_number=draw(st.none() | codes),
        ship_to_location_id=draw(codes) if ship_to is None else draw(st.none() | codes),
        ship_to=ship_to,
        gross_weight=draw(st.none() | weights),
        orders=orders,
    )


@st.composite
def invoices(draw: st.DrawFn) -> Invoice:
    number = draw(codes)
    lines = []
    for line_number in range(1, draw(st.integers(1, 4)) + 1):
        sku = draw(codes)
        billed = Quantity.of(draw(counts), draw(uoms))
        price = Money.of(draw(amounts), "USD")
        lines.append(
            InvoiceLine(
                line_number=line_number,
                item_id=CONTEXT.item_id(sku),
                sku=sku,
                description=draw(text(1, 40)),
                quantity=billed,
                unit_price=price,
                amount=(price * billed.value).rounded(),
            )
        )
    charges = [
        Charge(
            kind=kind,
            amount=Money.of(-amount if kind == ChargeKind.DISCOUNT else amount, "USD"),
            description=draw(st.none() | text(1, 30)),
        )
        for kind, amount in draw(st.lists(st.tuples(st.sampled_from(list(ChargeKind)), amounts), max_size=3))
    ]
    taxes = [
        TaxLine(tax_code=code, rate=rate, amount=Money.of(amount, "USD"))
        for code, rate, amount in draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["ST", "CT", "LS"]),
                    st.none() | st.decimals(min_value=Decimal("0.1"), max_value=Decimal(25), places=2),
                    amounts,
                ),
                max_size=2,
            )
        )
    ]
    invoice_date = draw(dates)
    return Invoice(
        id=CONTEXT.document_id("inv", number),
        external_refs=[ExternalRef(system="edi", local_id=number)],
        number=number,
        kind=draw(st.sampled_from(list(InvoiceKind))),
        customer_id=CONTEXT.receiver_id,
        bill_to=draw(st.none() | addresses(AddressKind.BILL_TO)),
        customer_po=draw(st.none() | codes),
        invoice_date=invoice_date,
        due_date=draw(st.none() | st.dates(invoice_date, date(2100, 12, 31))),
        payment_terms=draw(st.none() | text(1, 30)),
        currency="USD",
        lines=lines,
        charges=charges,
        taxes=taxes,
    )
