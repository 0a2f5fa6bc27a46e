"""810 invoice ↔ canonical `Invoice` (BIG, CUR, N1 bill-to, ITD, IT1 lines, TDS, TXI, SAC charges, ISS, CTT)."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

from crossdock.edi.x12.envelope import TransactionSet
from crossdock.edi.x12.maps.common import (
    beginning_segment,
    canonical,
    date_text,
    first_id,
    implied_text,
    loops,
    money,
    number_text,
    party_segments,
    product_ids,
    quantity,
    read_party,
    to_date,
    to_decimal,
    value,
)
from crossdock.edi.x12.maps.context import X12CodeTable, X12Context
from crossdock.edi.x12.maps.purchase_order import BUYER_PART, GTIN, VENDOR_PART
from crossdock.edi.x12.tokenizer import Segment, ascii_digits
from crossdock.edi.x12.writer import OutboundSet
from crossdock.model.addresses import Address, AddressKind
from crossdock.model.billing import Charge, ChargeKind, Invoice, InvoiceKind, InvoiceLine, TaxLine
from crossdock.model.common import ExternalRef, Money

_SELLER_PART = (*VENDOR_PART, "SK", "MG", *BUYER_PART, *GTIN)
"""An invoice is the seller's document: its item number comes first (VP, VN, VC), then SKU, then the buyer's."""
_CHARGE_CODES = {"D240": ChargeKind.FREIGHT, "D500": ChargeKind.HANDLING, "C310": ChargeKind.DISCOUNT}
"""SAC02 codes with a canonical charge kind; other kinds travel as ZZZZ (mutually defined) with the kind in SAC13."""
_CHARGE_OUT = {kind: code for code, kind in _CHARGE_CODES.items()}
_CREDIT = "CR"


def _line(segments: list[Segment], start: int, context: X12Context, currency: str, base: int) -> InvoiceLine:
    it1 = segments[0]
    position = base + start
    number = value(it1, 1)
    ids = product_ids(it1, 6)
    sku = first_id(ids, _SELLER_PART)
    description = next((value(s, 5) for s in segments if s[0] == "PID" and value(s, 5)), None)
    billed = quantity(value(it1, 2), value(it1, 3), context, f"IT102 of line {number}", position)
    price = money(value(it1, 4) or "0", currency, f"IT104 of line {number}", position)
    return canonical(
        lambda: InvoiceLine(
            line_number=int(number) if ascii_digits(number) and int(number) > 0 else start,
            item_id=context.item_id(sku) if sku else None,
            sku=sku,
            description=description or sku or f"line {number}",
            quantity=billed,
            unit_price=price,
            amount=(price * billed.value).rounded(),
        ),
        f"IT1 line {number}",
        position,
    )


def _charge(segment: Segment, currency: str, position: int) -> Charge:
    code = value(segment, 2)
    kind = _CHARGE_CODES.get(code, ChargeKind.OTHER)
    if code == "ZZZZ" and value(segment, 13) in ChargeKind.__members__.values():
        kind = ChargeKind(value(segment, 13))
    amount = to_decimal(value(segment, 5) or "0", "SAC05", position, implied=2)
    signed = -amount if value(segment, 1) == "A" else amount
    return canonical(
        lambda: Charge(kind=kind, amount=Money.of(signed, currency), description=value(segment, 15) or None),
        "SAC charge",
        position,
    )


def read_invoice(transaction: TransactionSet, context: X12Context) -> Invoice:
    """An 810 from `context.sender_id` billing `context.receiver_id` as a canonical Invoice."""
    segments = transaction.segments
    base = transaction.position
    big = beginning_segment(segments, "BIG", "810", "an invoice", base)
    number = value(big, 2)
    first_line = next((i for i, s in enumerate(segments) if s[0] == "IT1"), len(segments))
    summary = next((i for i, s in enumerate(segments) if s[0] == "TDS"), len(segments))
    currency = context.currency
    bill_to: Address | None = None
    terms = due = None
    index = 1
    while index < first_line:
        segment = segments[index]
        if segment[0] == "N1":
            party, index = read_party(segments, index, base)
            if party.entity == "BT":
                bill_to = party.address(AddressKind.BILL_TO, context)
            continue
        if segment[0] == "CUR" and value(segment, 2):
            currency = value(segment, 2)
        elif segment[0] == "ITD":
            terms = terms or value(segment, 12) or (f"NET{value(segment, 7)}" if value(segment, 7) else None)
            due = due or (to_date(value(segment, 6), "ITD06", base + index) if value(segment, 6) else None)
        index += 1
    lines = [_line(line, start, context, currency, base) for start, line in loops(segments, "IT1", ("TDS", "SE"))]
    charges: list[Charge] = []
    taxes: list[TaxLine] = []
    total: Decimal | None = None
    for offset, segment in enumerate(segments[summary:], summary):
        tag = segment[0]
        if tag == "TDS":
            total = to_decimal(value(segment, 1), "TDS01", base + offset, implied=2)
        elif tag == "SAC" and value(segment, 1) in ("A", "C"):
            charges.append(_charge(segment, currency, base + offset))
        elif tag == "TXI" and value(segment, 2):
            amount = money(value(segment, 2), currency, "TXI02", base + offset)
            rate = to_decimal(value(segment, 3), "TXI03", base + offset) if value(segment, 3) else None
            build = partial(TaxLine, tax_code=value(segment, 1), rate=rate, amount=amount)
            taxes.append(canonical(build, "TXI", base + offset))
    return canonical(
        lambda: Invoice(
            id=context.document_id("inv", number),
            external_refs=[ExternalRef(system=context.system, local_id=number)],
            number=number,
            kind=InvoiceKind.CREDIT_NOTE if value(big, 7) == _CREDIT else InvoiceKind.INVOICE,
            customer_id=context.receiver_id,
            bill_to=bill_to,
            customer_po=value(big, 4) or None,
            invoice_date=to_date(value(big, 1), "BIG01", base + 1),
            due_date=due,
            payment_terms=terms,
            currency=currency,
            lines=lines,
            charges=charges,
            taxes=taxes,
            **({"total": Money.of(total, currency)} if total is not None else {}),
        ),
        f"810 invoice {number}",
        base,
    )


def invoice_to_x12(invoice: Invoice, codes: X12CodeTable | None = None) -> OutboundSet:
    """A canonical Invoice as an 810 body."""
    codes = codes or X12CodeTable()
    body: list[Segment] = [
        [
            "BIG",
            date_text(invoice.invoice_date),
            invoice.number,
            "",
            invoice.customer_po or "",
            "",
            "",
            _CREDIT if invoice.kind == InvoiceKind.CREDIT_NOTE else "",
        ],
        ["CUR", "SE", invoice.currency],
    ]
    if invoice.bill_to is not None:
        body.extend(party_segments("BT", invoice.bill_to, None))
    if invoice.payment_terms or invoice.due_date:
        due = date_text(invoice.due_date) if invoice.due_date else ""
        body.append(["ITD", "01", "3", "", "", "", due, "", "", "", "", "", invoice.payment_terms or ""])
    units: dict[str, Decimal] = {}
    for line in invoice.lines:
        uom = codes.x12_uom(line.quantity.uom)
        it1 = ["IT1", str(line.line_number), number_text(line.quantity.value), uom, number_text(line.unit_price.amount)]
        body.append(it1 + (["", "VP", line.sku] if line.sku else []))
        body.append(["PID", "F", "", "", "", line.description])
        units[uom] = units.get(uom, Decimal(0)) + line.quantity.value
    body.append(["TDS", implied_text(invoice.total.amount)])
    body.extend(
        ["TXI", tax.tax_code, number_text(tax.amount.amount), number_text(tax.rate) if tax.rate else ""]
        for tax in invoice.taxes
    )
    for charge in invoice.charges:
        code = _CHARGE_OUT.get(charge.kind, "ZZZZ")
        sac = ["SAC", "A" if charge.amount.amount < 0 else "C", code, "", "", implied_text(abs(charge.amount.amount))]
        sac += ["", "", "", "", "", "", "", charge.kind.value if code == "ZZZZ" else "", "", charge.description or ""]
        body.append(sac)
    if len(units) == 1:
        uom, total_units = units.popitem()
        body.append(["ISS", number_text(total_units), uom])
    body.append(["CTT", str(len(invoice.lines))])
    return OutboundSet("810", body)
