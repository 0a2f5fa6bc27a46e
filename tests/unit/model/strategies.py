"""Hypothesis strategies that build valid instances of every canonical entity, with their optional parts varied."""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import strategies as st
from pydantic import BaseModel

from crossdock.model import (
    Address,
    Contact,
    ContactPoint,
    ContractPrice,
    Customer,
    InventoryPosition,
    Invoice,
    Item,
    Money,
    Payment,
    PoAcknowledgement,
    PriceList,
    PurchaseOrder,
    Quantity,
    Quote,
    ReturnAuthorization,
    SalesOrder,
    Shipment,
    ShipNotice,
    Supplier,
)
from crossdock.model.scalars import gs1_check_digit_ok

T = TypeVar("T")
Draw = Callable[[st.SearchStrategy[T]], T]

ids = st.from_regex(r"[a-z]{3}_[0-9a-z]{1,10}", fullmatch=True)
codes = st.text(string.ascii_uppercase + string.digits + "-/.", min_size=1, max_size=12)
# Letters from every script, digits, punctuation and spaces: names arrive in every language.
texts = st.text(st.characters(categories=("L", "N", "P", "Zs")), min_size=1, max_size=24).filter(str.strip)
currencies = st.sampled_from(["USD", "EUR", "GBP", "JPY", "KWD", "CAD"])
uoms = st.sampled_from(["EA", "CS", "PL", "BX", "KG", "LB", "C62"])
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
timestamps = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2090, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))]),
)


def decimals(low: str = "0", high: str = "100000", places: int = 4) -> st.SearchStrategy[Decimal]:
    """Exact decimals between low and high with up to `places` decimal places."""
    return st.decimals(
        min_value=Decimal(low), max_value=Decimal(high), places=places, allow_nan=False, allow_infinity=False
    )


def maybe(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    """The strategy's values or None."""
    return st.none() | strategy


def money(currency: str, low: str = "0", high: str = "100000") -> st.SearchStrategy[Money]:
    """Money in `currency`."""
    return decimals(low, high).map(lambda amount: Money.of(amount, currency))


def quantity(uom: str, low: str = "0.001") -> st.SearchStrategy[Quantity]:
    """A quantity above zero in `uom`."""
    return decimals(low, "10000", 3).map(lambda value: Quantity.of(value, uom))


def gs1(length: int) -> st.SearchStrategy[str]:
    """A GS1 number (GTIN, GLN, SSCC) of `length` digits with its check digit."""

    def with_check_digit(body: str) -> str:
        return next(body + d for d in string.digits if gs1_check_digit_ok(body + d))

    return st.text(string.digits, min_size=length - 1, max_size=length - 1).map(with_check_digit)


@st.composite
def addresses(draw: Draw[Any], kind: str | None = None) -> Address:
    """An address in the US, Canada or a country whose postal codes are not checked."""
    country = draw(st.sampled_from(["US", "CA", "DE", "GB", "JP", "BR"]))
    if country == "US":
        region, postal = (
            draw(st.sampled_from(["GA", "IL", "TX"])),
            draw(st.from_regex(r"[0-9]{5}(-[0-9]{4})?", fullmatch=True)),
        )
    elif country == "CA":
        region, postal = "ON", draw(st.from_regex(r"[A-Z][0-9][A-Z] [0-9][A-Z][0-9]", fullmatch=True))
    else:
        region, postal = draw(maybe(codes)), draw(maybe(codes))
    return Address(
        kind=kind or draw(st.sampled_from(["bill_to", "ship_to", "remit_to", "mailing"])),
        country=country,
        lines=draw(st.lists(texts, min_size=1, max_size=3)),
        city=draw(texts),
        region=region,
        postal_code=postal,
        name=draw(maybe(texts)),
        id=draw(maybe(ids)),
    )


@st.composite
def contact_points(draw: Draw[Any]) -> list[ContactPoint]:
    """An e-mail and a phone, or neither."""
    if not draw(st.booleans()):
        return []
    user = draw(st.from_regex(r"[a-z][a-z0-9.]{0,10}", fullmatch=True))
    phone = draw(st.from_regex(r"\+[1-9][0-9]{1,3} [0-9]{3}-[0-9]{4}", fullmatch=True))
    return [
        ContactPoint(channel="email", value=f"{user}@example.com", preferred=True, label=draw(maybe(texts))),
        ContactPoint(channel="phone", value=phone),
    ]


def external_refs() -> st.SearchStrategy[list[dict[str, str]]]:
    """Distinct references into the ERP and the CRM."""
    return st.lists(st.tuples(st.sampled_from(["erp", "crm", "wms"]), codes), max_size=3, unique=True).map(
        lambda pairs: [{"system": s, "local_id": i} for s, i in pairs]
    )


def entity_base(draw: Draw[Any]) -> dict[str, Any]:
    """The fields every entity has."""
    return {"id": draw(ids), "external_refs": draw(external_refs()), "updated_at": draw(maybe(timestamps))}


@st.composite
def customers(draw: Draw[Any]) -> Customer:
    """Customer accounts."""
    currency = draw(currencies)
    return Customer(
        **entity_base(draw),
        number=draw(codes),
        name=draw(texts),
        roles=draw(st.lists(st.sampled_from(["sold_to", "bill_to", "ship_to", "payer"]), min_size=1, max_size=4)),
        parent_id=draw(maybe(st.just("cus_parent"))),
        status=draw(st.sampled_from(["prospect", "active", "inactive", "closed"])),
        currency=currency,
        payment_terms=draw(maybe(st.just({"code": "NET30", "net_days": 30}))),
        credit_limit=draw(maybe(money(currency))),
        credit_status=draw(st.sampled_from(["ok", "hold", "blocked"])),
        channel=draw(maybe(st.sampled_from(["field_sales", "ecommerce", "edi"]))),
        addresses=draw(st.lists(addresses(), max_size=2)),
        contact_points=draw(contact_points()),
    )


@st.composite
def contacts(draw: Draw[Any]) -> Contact:
    """Contacts with at least one name part."""
    given, family = draw(st.sampled_from([(True, True), (True, False), (False, True)]))
    return Contact(
        **entity_base(draw),
        account_id=draw(ids),
        given_name=draw(texts) if given else None,
        family_name=draw(texts) if family else None,
        job_title=draw(maybe(texts)),
        roles=draw(st.lists(st.sampled_from(["purchasing", "accounts_payable", "receiving"]), max_size=3)),
        is_primary=draw(st.booleans()),
        contact_points=draw(contact_points()),
    )


@st.composite
def items(draw: Draw[Any]) -> Item:
    """Items with up to three pack levels above the base unit."""
    pack_uoms = draw(st.lists(st.sampled_from(["CS", "PL", "BX", "PK"]), max_size=3, unique=True))
    gtins = draw(st.lists(gs1(14), min_size=len(pack_uoms), max_size=len(pack_uoms), unique=True))
    packs = [
        {
            "uom": uom,
            "units": draw(decimals("1", "5000", 0)),
            "gtin": draw(maybe(st.just(gtin))),
            "gross_weight": draw(
                maybe(st.builds(dict, value=decimals("0.001", "900", 3), unit=st.sampled_from(["KG", "LB"])))
            ),
        }
        for uom, gtin in zip(pack_uoms, gtins, strict=True)
    ]
    sourcing = draw(st.sampled_from(["stocked", "drop_ship"]))
    vendors = [{"supplier_id": draw(ids), "part_number": draw(codes), "preferred": True}]
    return Item(
        **entity_base(draw),
        sku=draw(codes),
        description=draw(texts),
        status=draw(st.sampled_from(["new", "active", "phase_out", "discontinued"])),
        category=draw(maybe(codes)),
        base_uom="EA",
        packs=packs,
        sales_uom=draw(st.sampled_from(["EA", *pack_uoms])),
        sourcing=sourcing,
        vendor_part_numbers=vendors if sourcing == "drop_ship" or draw(st.booleans()) else [],
    )


def price_breaks(draw: Draw[Any], currency: str) -> list[dict[str, Any]]:
    """Ascending, distinct quantity breaks."""
    quantities = sorted(draw(st.lists(decimals("0", "1000", 0), min_size=1, max_size=4, unique=True)))
    return [{"min_quantity": q, "unit_price": draw(money(currency))} for q in quantities]


@st.composite
def price_lists(draw: Draw[Any]) -> PriceList:
    """Price lists with a few entries."""
    currency = draw(currencies)
    start = draw(maybe(dates))
    skus = draw(st.lists(codes, max_size=3, unique=True))
    return PriceList(
        **entity_base(draw),
        code=draw(codes),
        name=draw(texts),
        currency=currency,
        customer_group=draw(maybe(codes)),
        valid_from=start,
        valid_to=start + timedelta(days=draw(st.integers(0, 400))) if start and draw(st.booleans()) else None,
        entries=[
            {"item_id": f"itm_{n}", "sku": sku, "uom": draw(uoms), "breaks": price_breaks(draw, currency)}
            for n, sku in enumerate(skus)
        ],
    )


@st.composite
def contract_prices(draw: Draw[Any]) -> ContractPrice:
    """Contract prices for a customer or a customer group."""
    currency = draw(currencies)
    start = draw(dates)
    for_customer = draw(st.booleans())
    return ContractPrice(
        **entity_base(draw),
        contract_number=draw(maybe(codes)),
        customer_id=draw(ids) if for_customer else None,
        customer_group=None if for_customer else draw(codes),
        item_id=draw(ids),
        sku=draw(codes),
        uom=draw(uoms),
        currency=currency,
        breaks=price_breaks(draw, currency),
        valid_from=start,
        valid_to=draw(maybe(st.just(start + timedelta(days=365)))),
    )


@st.composite
def inventory_positions(draw: Draw[Any]) -> InventoryPosition:
    """Positions in one UOM; on hand may be negative."""
    uom = draw(uoms)
    return InventoryPosition(
        **entity_base(draw),
        item_id=draw(ids),
        sku=draw(codes),
        location_id=draw(codes),
        on_hand=Quantity.of(draw(decimals("-100", "100000", 2)), uom),
        allocated=Quantity.of(draw(decimals("0", "1000", 2)), uom),
        available_to_promise=Quantity.of(draw(decimals("-100", "100000", 2)), uom),
        on_order=Quantity.of(draw(decimals("0", "1000", 2)), uom),
        as_of=draw(timestamps),
    )


def sales_line(draw: Draw[Any], n: int, currency: str) -> dict[str, Any]:
    """The fields quote and order lines share."""
    return {
        "line_number": n,
        "item_id": draw(ids),
        "sku": draw(codes),
        "description": draw(maybe(texts)),
        "customer_part_number": draw(maybe(codes)),
        "unit_price": draw(money(currency)),
    }


@st.composite
def quotes(draw: Draw[Any]) -> Quote:
    """Quotes with a few lines."""
    currency, quoted = draw(currencies), draw(dates)
    return Quote(
        **entity_base(draw),
        number=draw(codes),
        customer_id=draw(ids),
        currency=currency,
        quote_date=quoted,
        valid_until=draw(maybe(st.just(quoted + timedelta(days=30)))),
        status=draw(st.sampled_from(["draft", "sent", "accepted", "expired"])),
        lines=[
            {**sales_line(draw, n, currency), "quantity": draw(quantity(draw(uoms)))}
            for n in range(1, draw(st.integers(0, 3)) + 1)
        ],
    )


@st.composite
def sales_orders(draw: Draw[Any]) -> SalesOrder:
    """Orders in any status, with stocked and drop-ship lines part shipped or backordered."""
    currency = draw(currencies)
    lines = []
    for n in range(1, draw(st.integers(1, 4)) + 1):
        ordered = draw(quantity(draw(uoms), low="1"))
        shipped = draw(decimals("0", str(ordered.value), 3))
        backordered = draw(decimals("0", str(ordered.value - shipped), 3))
        drop_ship = draw(st.booleans())
        lines.append(
            {
                **sales_line(draw, n, currency),
                "sourcing": "drop_ship" if drop_ship else "stocked",
                "supplier_id": draw(maybe(ids)) if drop_ship else None,
                "ordered_quantity": ordered,
                "shipped_quantity": Quantity.of(shipped, ordered.uom),
                "backordered_quantity": Quantity.of(backordered, ordered.uom),
                "requested_date": draw(maybe(dates)),
            }
        )
    one_time = draw(st.booleans())
    return SalesOrder(
        **entity_base(draw),
        number=draw(codes),
        customer_id=draw(ids),
        ship_to_id=None if one_time else draw(ids),
        ship_to=draw(addresses(kind="ship_to")) if one_time else None,
        customer_po=draw(maybe(codes)),
        order_date=draw(dates),
        currency=currency,
        status=draw(
            st.sampled_from(
                ["draft", "submitted", "accepted", "backordered", "partially_shipped", "shipped", "invoiced", "closed"]
            )
        ),
        channel=draw(maybe(st.sampled_from(["edi", "ecommerce", "inside_sales"]))),
        lines=lines,
    )


@st.composite
def shipments(draw: Draw[Any]) -> Shipment:
    """Shipped parcels with packages holding the lines."""
    lines = [
        {
            "line_number": n,
            "order_id": draw(ids),
            "order_line_number": draw(st.integers(1, 99)),
            "item_id": draw(ids),
            "sku": draw(codes),
            "quantity": draw(quantity(draw(uoms))),
        }
        for n in range(1, draw(st.integers(1, 3)) + 1)
    ]
    ssccs = draw(st.lists(gs1(18), min_size=len(lines), max_size=len(lines), unique=True))
    packages = [
        {
            "sscc": sscc,
            "tracking_number": draw(maybe(codes)),
            "contents": [{"line_number": line["line_number"], "quantity": line["quantity"]}],
        }
        for line, sscc in zip(lines, ssccs, strict=True)
    ]
    shipped_at = draw(timestamps)
    return Shipment(
        **entity_base(draw),
        number=draw(codes),
        status="shipped",
        customer_id=draw(ids),
        ship_to=draw(addresses(kind="ship_to")),
        ship_from_location_id=draw(codes),
        carrier=draw(maybe(codes)),
        shipped_at=shipped_at,
        lines=lines,
        packages=packages,
    )


@st.composite
def invoices(draw: Draw[Any]) -> Invoice:
    """Invoices whose totals are either computed or given (and then right)."""
    currency = draw(currencies)
    lines = []
    for n in range(1, draw(st.integers(0, 3)) + 1):
        price, qty = draw(money(currency, high="1000")), draw(quantity(draw(uoms)))
        lines.append(
            {
                "line_number": n,
                "description": draw(texts),
                "quantity": qty,
                "unit_price": price,
                "amount": (price * qty.value).rounded(),
            }
        )
    charges = [{"kind": "freight", "amount": draw(money(currency, high="500"))}] if draw(st.booleans()) else []
    taxes = [{"tax_code": draw(codes), "amount": draw(money(currency, high="500"))}] if draw(st.booleans()) else []
    issued = draw(dates)
    invoice = Invoice(
        **entity_base(draw),
        number=draw(codes),
        kind=draw(st.sampled_from(["invoice", "credit_note"])),
        customer_id=draw(ids),
        invoice_date=issued,
        due_date=draw(maybe(st.just(issued + timedelta(days=30)))),
        currency=currency,
        lines=lines,
        charges=charges,
        taxes=taxes,
    )
    if draw(st.booleans()):
        return invoice
    return Invoice.model_validate(invoice.model_dump())  # with totals given rather than computed


@st.composite
def payments(draw: Draw[Any]) -> Payment:
    """Payments applied in part or in full."""
    currency = draw(currencies)
    amount = draw(money(currency, low="1"))
    applied = draw(decimals("0.01", str(amount.amount), 2)) if draw(st.booleans()) else None
    return Payment(
        **entity_base(draw),
        number=draw(codes),
        customer_id=draw(ids),
        received_on=draw(dates),
        amount=amount,
        method=draw(st.sampled_from(["check", "ach", "wire", "card"])),
        applications=[{"invoice_id": draw(ids), "amount": Money.of(applied, currency).rounded()}]
        if applied and Money.of(applied, currency).rounded().amount > 0
        else [],
    )


@st.composite
def returns(draw: Draw[Any]) -> ReturnAuthorization:
    """Returns, inspected ones with dispositions."""
    currency = draw(currencies)
    status = draw(st.sampled_from(["requested", "authorized", "received", "inspected", "credited"]))
    lines = []
    for n in range(1, draw(st.integers(1, 3)) + 1):
        qty = draw(quantity(draw(uoms)))
        lines.append(
            {
                "line_number": n,
                "item_id": draw(ids),
                "sku": draw(codes),
                "quantity": qty,
                "received_quantity": qty if status != "requested" else Quantity.zero(qty.uom),
                "reason": draw(st.sampled_from(["damaged", "defective", "wrong_item", "other"])),
                "disposition": draw(st.sampled_from(["restock", "scrap", "return_to_vendor"])),
                "credit_amount": draw(maybe(money(currency))),
            }
        )
    return ReturnAuthorization(
        **entity_base(draw),
        rma_number=draw(codes),
        customer_id=draw(ids),
        status=status,
        requested_on=draw(dates),
        currency=currency,
        lines=lines,
        restocking_fee=draw(maybe(money(currency, high="50"))),
    )


@st.composite
def suppliers(draw: Draw[Any]) -> Supplier:
    """Suppliers, some drop-shipping."""
    currency = draw(currencies)
    return Supplier(
        **entity_base(draw),
        number=draw(codes),
        name=draw(texts),
        currency=currency,
        identifiers=draw(st.lists(gs1(13).map(lambda gln: {"scheme": "gln", "value": gln}), max_size=1)),
        drop_ships=draw(st.booleans()),
        lead_time_days=draw(maybe(st.integers(0, 120))),
        minimum_order=draw(maybe(money(currency))),
        addresses=draw(st.lists(addresses(kind="remit_to"), max_size=1)),
    )


@st.composite
def purchase_orders(draw: Draw[Any]) -> PurchaseOrder:
    """Stocked and drop-ship POs."""
    currency = draw(currencies)
    drop_ship = draw(st.booleans())
    lines = []
    for n in range(1, draw(st.integers(1, 3)) + 1):
        ordered = draw(quantity(draw(uoms)))
        lines.append(
            {
                "line_number": n,
                "item_id": draw(ids),
                "sku": draw(codes),
                "vendor_part_number": draw(maybe(codes)),
                "ordered_quantity": ordered,
                "received_quantity": Quantity.of(draw(decimals("0", str(ordered.value), 3)), ordered.uom),
                "unit_cost": draw(money(currency)),
            }
        )
    return PurchaseOrder(
        **entity_base(draw),
        number=draw(codes),
        supplier_id=draw(ids),
        kind="drop_ship" if drop_ship else "stocked",
        status=draw(st.sampled_from(["issued", "acknowledged", "partially_received", "received"])),
        order_date=draw(dates),
        currency=currency,
        ship_to_location_id=None if drop_ship else draw(codes),
        ship_to=draw(addresses(kind="ship_to")) if drop_ship else None,
        sales_order_id=draw(ids) if drop_ship else None,
        lines=lines,
    )


@st.composite
def po_acknowledgements(draw: Draw[Any]) -> PoAcknowledgement:
    """Acknowledgements whose line answers agree with the PO-level status."""
    status = draw(st.sampled_from(["accepted", "accepted_with_changes", "rejected"]))
    allowed = {"accepted": ["accepted"], "rejected": ["rejected"]}.get(
        status, ["accepted", "rejected", "backordered", "changed"]
    )
    lines = []
    for n in range(1, draw(st.integers(0, 3)) + 1):
        line_status = draw(st.sampled_from(allowed))
        lines.append(
            {
                "po_line_number": n,
                "status": line_status,
                "quantity": None if line_status == "rejected" else draw(quantity(draw(uoms))),
                "unit_cost": draw(maybe(money("USD"))),
                "promised_date": draw(maybe(dates)),
            }
        )
    return PoAcknowledgement(
        **entity_base(draw),
        purchase_order_id=draw(ids),
        po_number=draw(codes),
        supplier_id=draw(ids),
        status=status,
        acknowledged_at=draw(timestamps),
        lines=lines,
    )


@st.composite
def ship_notices(draw: Draw[Any]) -> ShipNotice:
    """ASNs with orders, packs (distinct SSCCs) and loose items."""
    ssccs = iter(draw(st.lists(gs1(18), min_size=6, max_size=6, unique=True)))

    def asn_item(n: int) -> dict[str, Any]:
        return {
            "po_line_number": n,
            "sku": draw(codes),
            "gtin": draw(maybe(gs1(13))),
            "quantity": draw(quantity(draw(uoms))),
            "lot_number": draw(maybe(codes)),
        }

    orders = []
    for _ in range(draw(st.integers(1, 2))):
        packs = [
            {"sscc": next(ssccs), "items": [asn_item(n) for n in range(1, draw(st.integers(1, 2)) + 1)]}
            for _ in range(draw(st.integers(0, 3)))
        ]
        loose = [asn_item(n) for n in range(1, draw(st.integers(0 if packs else 1, 2)) + 1)]
        orders.append({"po_number": draw(codes), "packs": packs, "items": loose})
    return ShipNotice(
        **entity_base(draw),
        number=draw(codes),
        supplier_id=draw(ids),
        shipped_at=draw(timestamps),
        ship_to_location_id=draw(codes),
        orders=orders,
    )


STRATEGIES: dict[str, st.SearchStrategy[BaseModel]] = {
    "customer": customers(),
    "contact": contacts(),
    "item": items(),
    "price_list": price_lists(),
    "contract_price": contract_prices(),
    "inventory_position": inventory_positions(),
    "quote": quotes(),
    "sales_order": sales_orders(),
    "shipment": shipments(),
    "invoice": invoices(),
    "payment": payments(),
    "return": returns(),
    "supplier": suppliers(),
    "purchase_order": purchase_orders(),
    "po_acknowledgement": po_acknowledgements(),
    "ship_notice": ship_notices(),
}
"""A strategy per canonical entity name."""
