"""sales_order.inbound.yaml: activated Orders (and won Opportunities, reshaped) as canonical sales orders."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from crossdock.connectors.salesforce.connector import mapping_catalog, read_fields
from crossdock.connectors.salesforce.order_capture import opportunity_as_order
from crossdock.mapping import MappingCatalog, MappingError
from crossdock.model import Address, Money, Quantity
from crossdock.model.sales import SalesOrder, SalesOrderStatus

API = "/services/data/v62.0/sobjects"
ORDER_ID = "8015g00000ABcdEAAT"


@pytest.fixture(scope="module")
def catalog() -> MappingCatalog:
    """The packaged specs under the system name `crm`."""
    return mapping_catalog("crm")


def line(number: int, item_id: str, sku: str, quantity: float, price: float, **fields: Any) -> dict[str, Any]:
    """An OrderItem as the order's child subquery returns it, numbered by the connector."""
    line_id = f"8025g00000XYz{number:02d}AAA"
    return {
        "attributes": {"type": "OrderItem", "url": f"{API}/OrderItem/{line_id}", "lineNumber": number},
        "Id": line_id,
        "Quantity": quantity,
        "UnitPrice": price,
        "CurrencyIsoCode": "USD",
        "Description": None,
        "Product2": {
            "attributes": {"type": "Product2", "url": f"{API}/Product2/01t5g00000Pq{number:03d}AAA"},
            "ProductCode": sku,
            "Crossdock_Id__c": item_id,
            "QuantityUnitOfMeasure": "Case" if sku.startswith("HB") else None,
        },
        **fields,
    }


def order(**changes: Any) -> dict[str, Any]:
    """An activated order as the capture's query returns it (fields of the spec, Status, Type and the lines)."""
    lines = [
        line(1, "itm_hb_m8", "HB-M8", 12.0, 48.5, Description="Hex bolt M8x40, zinc, case of 100"),
        line(2, "itm_hn_m8", "HN-M8", 1500.0, 0.085),
    ]
    record: dict[str, Any] = {
        "attributes": {"type": "Order", "url": f"{API}/Order/{ORDER_ID}"},
        "Id": ORDER_ID,
        "SystemModstamp": "2026-03-02T14:05:11.000+0000",
        "OrderNumber": "00000107",
        "Account": {
            "attributes": {"type": "Account", "url": f"{API}/Account/0015g00000Lm3nQAAR"},
            "Crossdock_Id__c": "cus_acme",
            "Sales_Channel__c": "Inside Sales",
        },
        "PoNumber": " PO-7781 ",
        "EffectiveDate": "2026-03-02",
        "CurrencyIsoCode": "USD",
        "OwnerId": "0055g00000Rr7sTAAR",
        "Description": "Deliver to dock 4 before noon",
        "ShippingAddress": {
            "city": "Atlanta",
            "country": "US",
            "geocodeAccuracy": None,
            "latitude": None,
            "longitude": None,
            "postalCode": "30341",
            "state": "GA",
            "street": "1200 Peachtree Industrial Blvd\nDock 4",
        },
        "Crossdock_Id__c": None,
        "Status": "Activated",
        "Type": "Drop Ship",
        "OrderItems": {"totalSize": 2, "done": True, "records": lines},
    }
    record.update(changes)
    return record


def to_sales_order(catalog: MappingCatalog, record: dict[str, Any]) -> SalesOrder:
    mapped = catalog.get("crm", "sales_order", "inbound").apply(record)
    return SalesOrder.model_validate({**mapped, "id": "so_0107"})


def test_an_activated_order_is_a_submitted_sales_order(catalog: MappingCatalog) -> None:
    sales_order = to_sales_order(catalog, order())
    assert sales_order == SalesOrder(
        id="so_0107",
        number="SF-00000107",
        customer_id="cus_acme",
        customer_po="PO-7781",
        order_date=date(2026, 3, 2),
        currency="USD",
        status=SalesOrderStatus.SUBMITTED,
        channel="inside_sales",
        sales_rep="0055g00000Rr7sTAAR",
        notes="Deliver to dock 4 before noon",
        ship_to=Address(
            kind="ship_to",
            country="US",
            lines=["1200 Peachtree Industrial Blvd", "Dock 4"],
            city="Atlanta",
            region="GA",
            postal_code="30341",
        ),
        lines=[
            {
                "line_number": 1,
                "item_id": "itm_hb_m8",
                "sku": "HB-M8",
                "description": "Hex bolt M8x40, zinc, case of 100",
                "ordered_quantity": Quantity.of(12, "CS"),
                "unit_price": Money.of("48.50", "USD"),
            },
            {
                "line_number": 2,
                "item_id": "itm_hn_m8",
                "sku": "HN-M8",
                "ordered_quantity": Quantity.of(1500, "EA"),
                "unit_price": Money.of("0.085", "USD"),
            },
        ],
    )
    assert sales_order.subtotal == Money.of("709.50", "USD")


def test_what_the_mapping_leaves_to_salesforce(catalog: MappingCatalog) -> None:
    inbound = catalog.get("crm", "sales_order", "inbound")
    base = inbound.apply(order())
    # Crossdock's own status fields, Salesforce's bookkeeping and the drop-ship request change nothing mapped.
    noisy = order(
        ERP_Status__c="Partially Shipped",
        Crossdock_Id__c="so_0107",
        SystemModstamp="2026-03-04T08:00:00.000+0000",
        Type="Standard",
        TotalAmount=709.5,
    )
    noisy["OrderItems"]["records"][0]["Shipped_Quantity__c"] = 12.0
    assert inbound.apply(noisy) == base
    fields = read_fields(inbound.spec)
    assert fields[:2] == ["OrderNumber", "Account.Crossdock_Id__c"]
    assert "ShippingAddress" in fields
    assert not any(field.startswith(("ERP_", "Status", "SystemModstamp")) for field in fields)


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("Field Sales", "field_sales"),
        ("Inside Sales", "inside_sales"),
        ("eCommerce", "inside_sales"),
        (None, "inside_sales"),
    ],
)
def test_the_channel_is_the_sales_team_that_keyed_the_order(
    catalog: MappingCatalog, channel: str | None, expected: str
) -> None:
    record = order(Account={"Crossdock_Id__c": "cus_acme", "Sales_Channel__c": channel})
    assert to_sales_order(catalog, record).channel == expected


def test_a_won_opportunity_maps_through_the_order_shape(catalog: MappingCatalog) -> None:
    opportunity_id = "0065g00000Hj2kLAAR"
    row = {
        "attributes": {"type": "Opportunity", "url": f"{API}/Opportunity/{opportunity_id}"},
        "Id": opportunity_id,
        "SystemModstamp": "2026-03-20T16:45:00.000+0000",
        "Name": "Spring restock",
        "StageName": "Closed Won",
        "IsWon": True,
        "CloseDate": "2026-03-20",
        "CurrencyIsoCode": "USD",
        "OwnerId": "0055g00000Rr7sTAAR",
        "Description": None,
        "AccountId": "0015g00000Lm3nQAAR",
        "Account": {
            "attributes": {"type": "Account"},
            "Crossdock_Id__c": "cus_acme",
            "Sales_Channel__c": "Field Sales",
            "ShippingStreet": "1 Main St",
            "ShippingCity": "Atlanta",
            "ShippingState": "GA",
            "ShippingPostalCode": "30301",
            "ShippingCountry": "US",
        },
        "OpportunityLineItems": {"totalSize": 1, "done": True, "records": [line(1, "itm_hn_m8", "HN-M8", 500, 0.11)]},
    }
    shaped = opportunity_as_order(row)
    assert shaped["OrderNumber"] == f"OPP-{opportunity_id}"
    assert "Crossdock_Id__c" not in shaped  # the opportunity's own canonical id is not the order's
    sales_order = to_sales_order(catalog, shaped)
    assert (sales_order.number, sales_order.order_date, sales_order.channel) == (
        f"SF-OPP-{opportunity_id}",
        date(2026, 3, 20),
        "field_sales",
    )
    assert sales_order.ship_to == Address(
        kind="ship_to", country="US", lines=["1 Main St"], city="Atlanta", region="GA", postal_code="30301"
    )
    assert sales_order.customer_po is None
    assert [(item.line_number, item.ordered_quantity.value) for item in sales_order.lines] == [(1, Decimal(500))]


def test_an_order_of_an_account_without_a_canonical_id_is_refused(catalog: MappingCatalog) -> None:
    record = order(Account={"attributes": {"type": "Account"}, "Crossdock_Id__c": None, "Sales_Channel__c": None})
    with pytest.raises(MappingError, match=r"customer_id.*Account\.Crossdock_Id__c.*8015g00000ABcdEAAT"):
        catalog.get("crm", "sales_order", "inbound").apply(record)


def test_an_order_without_lines_is_refused(catalog: MappingCatalog) -> None:
    # Salesforce answers an empty child relationship with null.
    with pytest.raises(MappingError, match=r"lines.*OrderItems\.records.*required value is missing"):
        catalog.get("crm", "sales_order", "inbound").apply(order(OrderItems=None))


def test_an_order_without_a_shipping_address_is_refused(catalog: MappingCatalog) -> None:
    with pytest.raises(MappingError, match=r"ship_to\.lines.*ShippingAddress\.street"):
        catalog.get("crm", "sales_order", "inbound").apply(order(ShippingAddress=None))


def test_a_line_of_an_item_the_erp_does_not_know_is_refused_by_position(catalog: MappingCatalog) -> None:
    record = order()
    record["OrderItems"]["records"][1]["Product2"]["Crossdock_Id__c"] = None
    with pytest.raises(MappingError, match=r"lines\[1\]\.item_id.*Product2\.Crossdock_Id__c"):
        catalog.get("crm", "sales_order", "inbound").apply(record)


def test_a_line_of_zero_quantity_is_refused_by_the_canonical_model(catalog: MappingCatalog) -> None:
    record = copy.deepcopy(order())
    record["OrderItems"]["records"][1]["Quantity"] = 0.0
    mapped = catalog.get("crm", "sales_order", "inbound").apply(record)  # the spec keeps what Salesforce says
    with pytest.raises(ValidationError, match="order line 2: ordered_quantity must be greater than zero"):
        SalesOrder.model_validate({**mapped, "id": "so_0107"})
