"""One typical instance of every canonical entity: a small distributor's day, from quote to cash and from PO to ASN."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel

from crossdock.model import (
    Address,
    Contact,
    ContactPoint,
    ContractPrice,
    Customer,
    ExternalRef,
    Identifier,
    InventoryPosition,
    Invoice,
    Item,
    Money,
    Payment,
    PaymentTerms,
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

NOW = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)


def usd(amount: str) -> Money:
    """Dollars."""
    return Money.of(amount, "USD")


def ship_to_address() -> Address:
    """Acme's receiving dock in Atlanta."""
    return Address(
        kind="ship_to",
        country="US",
        lines=["1200 Peachtree Industrial Blvd", "Dock 3"],
        city="Atlanta",
        region="GA",
        postal_code="30301",
        name="Acme Hardware - Atlanta DC",
        is_default=True,
    )


def customer() -> Customer:
    """A bill-to account with net-30 terms, a credit limit and one ship-to address."""
    return Customer(
        id="cus_acme",
        external_refs=[ExternalRef(system="erp", local_id="42"), ExternalRef(system="crm", local_id="001A000001")],
        updated_at=NOW,
        number="C-1001",
        name="Acme Hardware",
        roles=["sold_to", "bill_to", "ship_to"],
        legal_name="Acme Hardware Holdings, Inc.",
        identifiers=[Identifier(scheme="ein", value="12-3456789"), Identifier(scheme="duns", value="150483782")],
        currency="USD",
        payment_terms=PaymentTerms(code="2-10-N30", net_days=30, discount_percent="2", discount_days=10),
        credit_limit=usd("50000"),
        price_group="CONTRACTORS",
        sales_rep="rep_jdoe",
        channel="edi",
        addresses=[ship_to_address()],
        contact_points=[ContactPoint(channel="email", value="ap@acme.example", label="accounts payable")],
    )


def contact() -> Contact:
    """Acme's purchasing manager."""
    return Contact(
        id="con_jane",
        account_id="cus_acme",
        given_name="Jane",
        family_name="Smith",
        job_title="Purchasing Manager",
        roles=["purchasing", "decision_maker"],
        is_primary=True,
        contact_points=[
            ContactPoint(channel="email", value="jane.smith@acme.example", preferred=True),
            ContactPoint(channel="phone", value="+1 (404) 555-0100 ext 12"),
        ],
    )


def item() -> Item:
    """Wood screws: each, case of 12, pallet of 40 cases."""
    return Item(
        id="itm_screw",
        sku="SCR-100",
        description="Wood screw 4x40, zinc",
        category="fasteners/screws",
        base_uom="EA",
        packs=[
            {"uom": "EA", "units": 1, "gtin": "036000291452", "gross_weight": {"value": "0.01", "unit": "KG"}},
            {"uom": "CS", "units": 12, "gtin": "10036000291459"},
            {"uom": "PL", "units": 480, "dimensions": {"length": 120, "width": 80, "height": 150, "unit": "CM"}},
        ],
        sales_uom="CS",
        purchase_uom="PL",
        customer_part_numbers=[{"customer_id": "cus_acme", "part_number": "ACME-778"}],
        vendor_part_numbers=[{"supplier_id": "sup_fastco", "part_number": "FC-4X40-Z", "preferred": True}],
    )


def price_list() -> PriceList:
    """The contractor price list with a quantity break."""
    return PriceList(
        id="prl_contractors",
        code="CONTRACTORS",
        name="Contractor prices 2026",
        currency="USD",
        customer_group="CONTRACTORS",
        valid_from=date(2026, 1, 1),
        entries=[
            {
                "item_id": "itm_screw",
                "sku": "SCR-100",
                "uom": "CS",
                "breaks": [
                    {"min_quantity": 1, "unit_price": usd("4.80")},
                    {"min_quantity": 50, "unit_price": usd("4.50")},
                ],
            }
        ],
    )


def contract_price() -> ContractPrice:
    """Acme's contract price for screws by the case."""
    return ContractPrice(
        id="ctp_acme_screw",
        contract_number="K-2026-7",
        customer_id="cus_acme",
        item_id="itm_screw",
        sku="SCR-100",
        uom="CS",
        currency="USD",
        breaks=[{"min_quantity": 0, "unit_price": usd("4.25")}],
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
    )


def inventory_position() -> InventoryPosition:
    """Screws at the Atlanta warehouse."""
    return InventoryPosition(
        id="inv_screw_atl",
        item_id="itm_screw",
        sku="SCR-100",
        location_id="ATL",
        on_hand=Quantity.of(1200, "EA"),
        allocated=Quantity.of(240, "EA"),
        available_to_promise=Quantity.of(960, "EA"),
        on_order=Quantity.of(4800, "EA"),
        as_of=NOW,
        next_receipt_date=date(2026, 11, 28),
    )


def quote() -> Quote:
    """A quote for 60 cases."""
    return Quote(
        id="quo_77",
        number="Q-77",
        customer_id="cus_acme",
        currency="USD",
        quote_date=date(2026, 11, 2),
        valid_until=date(2026, 12, 2),
        status="sent",
        lines=[
            {
                "line_number": 1,
                "item_id": "itm_screw",
                "sku": "SCR-100",
                "quantity": Quantity.of(60, "CS"),
                "unit_price": usd("4.25"),
            }
        ],
    )


def sales_order() -> SalesOrder:
    """An EDI order: a stocked line partly backordered, and a drop-ship line."""
    return SalesOrder(
        id="ord_4711",
        external_refs=[ExternalRef(system="erp", local_id="4711")],
        number="SO-4711",
        customer_id="cus_acme",
        bill_to_id="cus_acme",
        ship_to_id="cus_acme",
        customer_po="PO-88812",
        quote_id="quo_77",
        order_date=date(2026, 11, 20),
        currency="USD",
        status="backordered",
        channel="edi",
        lines=[
            {
                "line_number": 1,
                "item_id": "itm_screw",
                "sku": "SCR-100",
                "customer_part_number": "ACME-778",
                "unit_price": usd("4.25"),
                "ordered_quantity": Quantity.of(60, "CS"),
                "backordered_quantity": Quantity.of(20, "CS"),
                "requested_date": date(2026, 11, 25),
                "promised_date": date(2026, 11, 27),
            },
            {
                "line_number": 2,
                "item_id": "itm_ladder",
                "sku": "LAD-8",
                "sourcing": "drop_ship",
                "supplier_id": "sup_fastco",
                "unit_price": usd("189.00"),
                "ordered_quantity": Quantity.of(2, "EA"),
            },
        ],
    )


def shipment() -> Shipment:
    """Forty cases of screws on one pallet, by LTL."""
    return Shipment(
        id="shp_9001",
        number="SH-9001",
        status="shipped",
        customer_id="cus_acme",
        ship_to_id="cus_acme",
        ship_to=ship_to_address(),
        ship_from_location_id="ATL",
        carrier="ODFL",
        ship_method="LTL",
        tracking_number="PRO-5550001",
        shipped_at=NOW,
        lines=[
            {
                "line_number": 1,
                "order_id": "ord_4711",
                "order_line_number": 1,
                "item_id": "itm_screw",
                "sku": "SCR-100",
                "quantity": Quantity.of(40, "CS"),
            }
        ],
        packages=[
            {
                "sscc": "000123456789012343",
                "weight": {"value": "210", "unit": "KG"},
                "contents": [{"line_number": 1, "quantity": Quantity.of(40, "CS")}],
            }
        ],
    )


def invoice() -> Invoice:
    """The invoice for that shipment, with freight and sales tax."""
    return Invoice(
        id="inv_5001",
        number="INV-5001",
        customer_id="cus_acme",
        order_ids=["ord_4711"],
        shipment_ids=["shp_9001"],
        customer_po="PO-88812",
        invoice_date=date(2026, 11, 22),
        due_date=date(2026, 12, 22),
        payment_terms="2-10-N30",
        currency="USD",
        lines=[
            {
                "line_number": 1,
                "order_id": "ord_4711",
                "order_line_number": 1,
                "item_id": "itm_screw",
                "sku": "SCR-100",
                "description": "Wood screw 4x40, zinc",
                "quantity": Quantity.of(40, "CS"),
                "unit_price": usd("4.25"),
                "amount": usd("170.00"),
            }
        ],
        charges=[{"kind": "freight", "amount": usd("35.00")}],
        taxes=[{"tax_code": "GA-STATE", "rate": "4", "taxable_amount": usd("170.00"), "amount": usd("6.80")}],
    )


def payment() -> Payment:
    """Acme pays the invoice less the early-payment discount."""
    return Payment(
        id="pay_1",
        number="CHK-20331",
        customer_id="cus_acme",
        received_on=date(2026, 11, 30),
        amount=usd("208.40"),
        method="check",
        applications=[
            {
                "invoice_id": "inv_5001",
                "invoice_number": "INV-5001",
                "amount": usd("208.40"),
                "discount_taken": usd("3.40"),
            }
        ],
    )


def return_authorization() -> ReturnAuthorization:
    """Two damaged cases come back and are scrapped."""
    return ReturnAuthorization(
        id="rma_31",
        rma_number="RMA-31",
        customer_id="cus_acme",
        order_id="ord_4711",
        status="inspected",
        requested_on=date(2026, 11, 24),
        authorized_on=date(2026, 11, 24),
        currency="USD",
        lines=[
            {
                "line_number": 1,
                "item_id": "itm_screw",
                "sku": "SCR-100",
                "quantity": Quantity.of(2, "CS"),
                "received_quantity": Quantity.of(2, "CS"),
                "reason": "damaged",
                "disposition": "scrap",
                "credit_amount": usd("8.50"),
            }
        ],
    )


def supplier() -> Supplier:
    """A fastener supplier that also drop-ships."""
    return Supplier(
        id="sup_fastco",
        number="V-300",
        name="FastCo Fasteners",
        identifiers=[Identifier(scheme="gln", value="0614141000005")],
        currency="USD",
        payment_terms=PaymentTerms(code="NET45", net_days=45),
        drop_ships=True,
        lead_time_days=7,
        addresses=[
            {
                "kind": "remit_to",
                "country": "US",
                "lines": ["PO Box 77"],
                "city": "Chicago",
                "region": "IL",
                "postal_code": "60601",
            }
        ],
    )


def purchase_order() -> PurchaseOrder:
    """A drop-ship PO for the ladders, to Acme's dock."""
    return PurchaseOrder(
        id="po_7001",
        number="PO-7001",
        supplier_id="sup_fastco",
        kind="drop_ship",
        status="issued",
        order_date=date(2026, 11, 20),
        currency="USD",
        ship_to=ship_to_address(),
        sales_order_id="ord_4711",
        customer_id="cus_acme",
        lines=[
            {
                "line_number": 1,
                "item_id": "itm_ladder",
                "sku": "LAD-8",
                "vendor_part_number": "FC-LAD8",
                "ordered_quantity": Quantity.of(2, "EA"),
                "unit_cost": usd("120.00"),
                "sales_order_line_number": 2,
            }
        ],
    )


def po_acknowledgement() -> PoAcknowledgement:
    """The supplier backorders the ladders by a week."""
    return PoAcknowledgement(
        id="ack_7001",
        purchase_order_id="po_7001",
        po_number="PO-7001",
        supplier_id="sup_fastco",
        status="accepted_with_changes",
        acknowledged_at=NOW,
        lines=[
            {
                "po_line_number": 1,
                "status": "backordered",
                "quantity": Quantity.of(2, "EA"),
                "promised_date": date(2026, 11, 30),
            }
        ],
    )


def ship_notice() -> ShipNotice:
    """The supplier's ASN: one order, one carton with the two ladders."""
    return ShipNotice(
        id="asn_1",
        number="ASN-FC-1",
        supplier_id="sup_fastco",
        shipped_at=NOW,
        carrier="UPSN",
        tracking_number="1Z999AA10123456784",
        ship_to=ship_to_address(),
        orders=[
            {
                "purchase_order_id": "po_7001",
                "po_number": "PO-7001",
                "packs": [
                    {
                        "sscc": "000123456789012350",
                        "items": [
                            {"po_line_number": 1, "vendor_part_number": "FC-LAD8", "quantity": Quantity.of(2, "EA")}
                        ],
                    }
                ],
            }
        ],
    )


EXAMPLES: dict[str, BaseModel] = {
    "customer": customer(),
    "contact": contact(),
    "item": item(),
    "price_list": price_list(),
    "contract_price": contract_price(),
    "inventory_position": inventory_position(),
    "quote": quote(),
    "sales_order": sales_order(),
    "shipment": shipment(),
    "invoice": invoice(),
    "payment": payment(),
    "return": return_authorization(),
    "supplier": supplier(),
    "purchase_order": purchase_order(),
    "po_acknowledgement": po_acknowledgement(),
    "ship_notice": ship_notice(),
}
"""A typical instance per canonical entity name."""
