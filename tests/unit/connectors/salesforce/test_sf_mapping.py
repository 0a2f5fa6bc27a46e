"""The packaged mapping specs: canonical → Salesforce → canonical round trips, echo safety, the fields read."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from crossdock.connectors.salesforce.connector import MAPPING_DIR, mapping_catalog, read_fields
from crossdock.mapping import MappingCatalog, MappingError
from crossdock.model import Address, Contact, ContactPoint, Customer, Identifier, Item, Money, PaymentTerms, PriceList

# What Salesforce adds to every record it returns: none of it may change what the inbound mapping makes of it.
SYSTEM_FIELDS = {
    "attributes": {"type": "Account", "url": "/services/data/v62.0/sobjects/Account/001D000000IRFmaIAH"},
    "Id": "001D000000IRFmaIAH",
    "IsDeleted": False,
    "CreatedDate": "2026-11-22T10:00:00.000+0000",
    "CreatedById": "005B0000005Bk90IAC",
    "LastModifiedDate": "2026-11-22T10:05:00.000+0000",
    "LastModifiedById": "005B0000005Bk90IAC",
    "SystemModstamp": "2026-11-22T10:05:00.000+0000",
}


@pytest.fixture(scope="module")
def catalog() -> MappingCatalog:
    """The packaged specs under the system name `crm`."""
    return mapping_catalog("crm")


def read_back(written: dict[str, Any], **relationships: str | None) -> dict[str, Any]:
    """The record as a SOQL query returns it after the write: system fields added, relationships as objects."""
    record = {key: value for key, value in written.items() if not isinstance(value, dict)}
    record.update(SYSTEM_FIELDS)
    for name, external_id in relationships.items():
        record[name] = None if external_id is None else {"attributes": {}, "Crossdock_Id__c": external_id}
    return record


def customer() -> Customer:
    """A customer using every attribute the Account mapping carries, in the spelling it round-trips."""
    return Customer(
        id="cus_acme",
        number="C-1001",
        name="Acme Hardware",
        roles=["sold_to", "bill_to"],
        parent_id="cus_acme_holdings",
        identifiers=[Identifier(scheme="ein", value="12-3456789")],
        currency="USD",
        payment_terms=PaymentTerms(code="2-10-N30", net_days=30, discount_percent="2", discount_days=10),
        credit_limit=Money.of("50000.00", "USD"),
        credit_status="hold",
        sales_rep="005B0000005Bk90IAC",
        channel="field_sales",
        addresses=[
            Address(
                kind="bill_to",
                country="US",
                lines=["1 Main St", "Suite 4"],
                city="Atlanta",
                region="GA",
                postal_code="30301",
            ),
            Address(
                kind="ship_to",
                country="US",
                lines=["1200 Peachtree Industrial Blvd"],
                city="Atlanta",
                region="GA",
                postal_code="30302",
            ),
        ],
        contact_points=[
            ContactPoint(channel="phone", value="+1 404 555 0100"),
            ContactPoint(channel="fax", value="+1 404 555 0199"),
            ContactPoint(channel="web", value="https://acme.example"),
        ],
    )


def test_the_catalog_holds_every_packaged_spec(catalog: MappingCatalog) -> None:
    assert catalog.keys() == [
        ("crm", "contact", "inbound"),
        ("crm", "contact", "outbound"),
        ("crm", "customer", "inbound"),
        ("crm", "customer", "outbound"),
        ("crm", "item", "inbound"),
        ("crm", "item", "outbound"),
        ("crm", "price_list", "outbound"),
        ("crm", "sales_order", "inbound"),
    ]
    assert (MAPPING_DIR / "customer.inbound.yaml").exists()


def test_customer_round_trip(catalog: MappingCatalog) -> None:
    original = customer()
    account = catalog.get("crm", "customer", "outbound").apply(original.model_dump(mode="json"))
    assert account["Crossdock_Id__c"] == "cus_acme"
    assert account["Parent"] == {"Crossdock_Id__c": "cus_acme_holdings"}
    assert account["Payment_Terms__c"] == "2/10 Net 30"
    assert account["Credit_Status__c"] == "On Hold"
    assert account["Sales_Channel__c"] == "Field Sales"
    assert account["BillingStreet"] == "1 Main St\nSuite 4"
    assert account["Credit_Limit__c"] == 50000.0
    assert "Type" not in account  # an active account keeps the CRM's own Type
    back = catalog.get("crm", "customer", "inbound").apply(read_back(account, Parent="cus_acme_holdings"))
    assert Customer.model_validate({**back, "id": original.id}) == original


def test_customer_read_back_is_an_echo_whatever_salesforce_adds(catalog: MappingCatalog) -> None:
    inbound = catalog.get("crm", "customer", "inbound")
    lean = customer().revised(parent_id=None, sales_rep=None, contact_points=[], addresses=[], identifiers=[])
    written = catalog.get("crm", "customer", "outbound").apply(lean.model_dump(mode="json"))
    assert written["Parent"] == {"Crossdock_Id__c": None}  # the connector sends ParentId: null
    assert "OwnerId" not in written  # the CRM owns the sales rep: never cleared from here
    assert inbound.apply(written) == inbound.apply(read_back(written, Parent=None))


@pytest.mark.parametrize(
    ("terms", "code", "net_days"),
    [("Net 30", "NET30", 30), ("Due on Receipt", "DUE", 0), ("Net 90", "Net 90", 90)],
)
def test_payment_terms_from_the_picklist(catalog: MappingCatalog, terms: str, code: str, net_days: int) -> None:
    record = {"Id": "001A", "Name": "A", "AccountNumber": "1", "CurrencyIsoCode": "USD", "Payment_Terms__c": terms}
    assert catalog.get("crm", "customer", "inbound").apply(record)["payment_terms"] == {
        "code": code,
        "net_days": net_days,
    }


def test_tax_ids_keep_their_scheme(catalog: MappingCatalog) -> None:
    inbound = catalog.get("crm", "customer", "inbound")
    base = {"Id": "001A", "Name": "A", "AccountNumber": "1", "CurrencyIsoCode": "EUR"}
    assert inbound.apply({**base, "Tax_Id__c": "DE123456789"})["identifiers"] == [
        {"scheme": "vat", "value": "DE123456789"}
    ]
    assert inbound.apply({**base, "Tax_Id__c": "1234"})["identifiers"] == [{"scheme": "tax_id", "value": "1234"}]
    assert "identifiers" not in inbound.apply(base)


def test_contact_round_trip_names_the_account_by_its_canonical_id(catalog: MappingCatalog) -> None:
    original = Contact(
        id="con_jane",
        account_id="cus_acme",
        given_name="Jane",
        family_name="Smith",
        salutation="Ms.",
        job_title="Purchasing Manager",
        contact_points=[
            ContactPoint(channel="email", value="jane.smith@acme.example"),
            ContactPoint(channel="phone", value="+1 404 555 0100 ext 12"),
            ContactPoint(channel="mobile", value="+1 404 555 0177"),
        ],
    )
    written = catalog.get("crm", "contact", "outbound").apply(original.model_dump(mode="json"))
    assert written["Account"] == {"Crossdock_Id__c": "cus_acme"}
    assert "AccountId" not in written
    back = catalog.get("crm", "contact", "inbound").apply(read_back(written, Account="cus_acme"))
    assert Contact.model_validate({**back, "id": original.id}) == original


def test_a_contact_of_an_unstamped_account_is_a_clear_mapping_error(catalog: MappingCatalog) -> None:
    record = {
        "Id": "003A",
        "LastName": "Smith",
        "AccountId": "001D000000IRFmaIAH",
        "Account": {"Crossdock_Id__c": None},
    }
    with pytest.raises(MappingError, match=r"account_id.*Account.Crossdock_Id__c.*003A"):
        catalog.get("crm", "contact", "inbound").apply(record)


def test_item_round_trip(catalog: MappingCatalog) -> None:
    original = Item(
        id="itm_screw",
        sku="SCR-100",
        description="Wood screw 4x40, zinc",
        long_description="Zinc-plated wood screw, 4 x 40 mm",
        category="fasteners",
        base_uom="CS",
    )
    written = catalog.get("crm", "item", "outbound").apply(original.model_dump(mode="json"))
    assert written == {
        "Crossdock_Id__c": "itm_screw",
        "ProductCode": "SCR-100",
        "Name": "Wood screw 4x40, zinc",
        "Description": "Zinc-plated wood screw, 4 x 40 mm",
        "IsActive": True,
        "Family": "Fasteners",
        "QuantityUnitOfMeasure": "Case",
    }
    back = catalog.get("crm", "item", "inbound").apply(read_back(written))
    assert Item.model_validate({**back, "id": original.id}) == original


def test_price_lists_map_to_a_price_book_with_entries(catalog: MappingCatalog) -> None:
    base = PriceList(
        id="prl_base",
        code="LIST",
        name="List prices 2026",
        currency="USD",
        valid_from=date(2026, 1, 1),
        entries=[
            {"item_id": "itm_screw", "sku": "SCR-100", "uom": "CS",
             "breaks": [{"min_quantity": 1, "unit_price": Money.of("4.80", "USD")},
                        {"min_quantity": 50, "unit_price": Money.of("4.50", "USD")}]},
        ],
    )  # fmt: skip
    mapped = catalog.get("crm", "price_list", "outbound").apply(base.model_dump(mode="json"))
    assert mapped == {
        "Crossdock_Id__c": "prl_base",
        "Name": "List prices 2026",
        "Description": "LIST",
        "IsActive": True,
        "IsStandard": True,
        "CurrencyIsoCode": "USD",
        "Entries": [{"item_id": "itm_screw", "uom": "CS", "UnitPrice": 4.8}],
    }
    group = base.revised(customer_group="CONTRACTORS")
    assert catalog.get("crm", "price_list", "outbound").apply(group.model_dump(mode="json"))["IsStandard"] is False


def test_the_fields_read_are_those_the_inbound_specs_name(catalog: MappingCatalog) -> None:
    account = read_fields(catalog.get("crm", "customer", "inbound").spec)
    assert account[:3] == ["AccountNumber", "Name", "Type"]
    assert {"Tax_Id__c", "Payment_Terms__c", "Parent.Crossdock_Id__c", "OwnerId", "BillingStreet"} <= set(account)
    assert "SystemModstamp" not in account  # capture adds it; the mapping must not read it (echo)
    assert read_fields(catalog.get("crm", "contact", "inbound").spec)[0] == "Account.Crossdock_Id__c"
