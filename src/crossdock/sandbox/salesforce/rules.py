"""What the org does beyond plain fields: derived values, roll-ups and the pricebook rules of standard objects.

Opportunity products follow Salesforce's documented effects on their opportunity: the first one sets the
opportunity's price book when it has none (later ones must come from that book), and while an opportunity has
products its Amount is their total (a written Amount is ignored) and HasOpportunityLineItem is true.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossdock.sandbox.salesforce.errors import RecordError
from crossdock.sandbox.salesforce.schema import OPPORTUNITY_STAGES, ObjectSpec
from crossdock.sandbox.salesforce.unit import Record

if TYPE_CHECKING:
    from crossdock.sandbox.salesforce.dml import Writer

_NO_PRICEBOOK = (
    "field integrity exception: PricebookEntryId (pricebook entry is in a different pricebook than the one assigned "
    "to the order, or Order has no pricebook assigned)"
)


def before_save(writer: Writer, spec: ObjectSpec, record: Record, before: Record | None) -> None:
    """Fill derived fields and enforce object rules before a record is staged."""
    if spec.name in {"Contact", "User"}:
        record["Name"] = " ".join(part for part in (record.get("FirstName"), record.get("LastName")) if part)
    elif spec.name == "Opportunity":
        record["IsClosed"], record["IsWon"] = OPPORTUNITY_STAGES.get(record.get("StageName") or "", (False, False))
        _opportunity_amount(writer, record)
    elif spec.name == "Order" and before is None:
        record["OrderNumber"] = writer.store.next_order_number()
        record["TotalAmount"] = 0.0
    elif spec.name == "OrderItem":
        _order_item(writer, record, before)
    elif spec.name == "OpportunityLineItem":
        _opportunity_item(writer, record, before)
    elif spec.name == "PricebookEntry" and before is None:
        _pricebook_entry(writer, record)


def after_save(writer: Writer, spec: ObjectSpec, record: Record, before: Record | None) -> None:
    """Roll changes up to parents once a record is staged."""
    if spec.name == "OrderItem":
        _roll_up_order(writer, record["OrderId"])
    elif spec.name == "OpportunityLineItem":
        _roll_up_opportunity(writer, record["OpportunityId"])


def after_delete(writer: Writer, spec: ObjectSpec, record: Record) -> None:
    """Roll a deletion up to parents."""
    if spec.name == "OrderItem":
        _roll_up_order(writer, record["OrderId"])
    elif spec.name == "OpportunityLineItem":
        _roll_up_opportunity(writer, record["OpportunityId"])


def _order_item(writer: Writer, record: Record, before: Record | None) -> None:
    if before is None:
        entry = writer.unit.get(record["PricebookEntryId"]) or {}
        order = writer.unit.get(record["OrderId"]) or {}
        if not order.get("Pricebook2Id") or order.get("Pricebook2Id") != entry.get("Pricebook2Id"):
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", _NO_PRICEBOOK, ["PricebookEntryId"])
        if record.get("Product2Id") and record["Product2Id"] != entry.get("Product2Id"):
            raise RecordError(
                "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: Product2Id (the product does not match the pricebook entry)",
                ["Product2Id"],
            )
        record["Product2Id"] = entry.get("Product2Id")
        record["ListPrice"] = entry.get("UnitPrice")
        record["CurrencyIsoCode"] = order.get("CurrencyIsoCode")
        # An org-wide auto-number, as in Salesforce: unique, so ORDER BY OrderItemNumber is a stable line order.
        record["OrderItemNumber"] = writer.store.next_order_item_number()
    record["TotalPrice"] = round(float(record.get("Quantity") or 0) * float(record.get("UnitPrice") or 0), 2)


def _opportunity_item(writer: Writer, record: Record, before: Record | None) -> None:
    if before is None:
        entry = writer.unit.get(record["PricebookEntryId"]) or {}
        opportunity = writer.unit.get(record["OpportunityId"]) or {}
        pricebook_id = opportunity.get("Pricebook2Id")
        if pricebook_id is None:
            # The first product chooses the opportunity's price book, if that book is active.
            if not (writer.unit.get(entry.get("Pricebook2Id") or "") or {}).get("IsActive"):
                raise RecordError("FIELD_INTEGRITY_EXCEPTION", _NO_PRICEBOOK, ["PricebookEntryId"])
            pricebook_id = entry["Pricebook2Id"]
            opportunity_spec = writer.schema.objects["Opportunity"]
            writer.apply(opportunity_spec, opportunity, {"Pricebook2Id": pricebook_id}, change=False)
        if pricebook_id != entry.get("Pricebook2Id"):
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", _NO_PRICEBOOK, ["PricebookEntryId"])
        if record.get("Product2Id") and record["Product2Id"] != entry.get("Product2Id"):
            raise RecordError(
                "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: Product2Id (the product does not match the pricebook entry)",
                ["Product2Id"],
            )
        record["Product2Id"] = entry.get("Product2Id")
        record["ProductCode"] = entry.get("ProductCode")
        record["ListPrice"] = entry.get("UnitPrice")
        record["CurrencyIsoCode"] = opportunity.get("CurrencyIsoCode")
    record["TotalPrice"] = round(float(record.get("Quantity") or 0) * float(record.get("UnitPrice") or 0), 2)


def _pricebook_entry(writer: Writer, record: Record) -> None:
    product = writer.unit.get(record["Product2Id"]) or {}
    pricebook = writer.unit.get(record["Pricebook2Id"]) or {}
    record["Name"] = product.get("Name")
    record["ProductCode"] = product.get("ProductCode")
    currency = record.get("CurrencyIsoCode")
    entries = writer.unit.children("PricebookEntry", "Product2Id", record["Product2Id"])
    same_currency = [entry for entry in entries if entry.get("CurrencyIsoCode") == currency]
    if any(entry["Pricebook2Id"] == record["Pricebook2Id"] for entry in same_currency):
        raise RecordError("DUPLICATE_VALUE", "This price definition already exists in this price book")
    if not pricebook.get("IsStandard"):
        standard_ids = {entry["Pricebook2Id"] for entry in same_currency}
        if not any((writer.unit.get(pricebook_id) or {}).get("IsStandard") for pricebook_id in standard_ids):
            raise RecordError("STANDARD_PRICE_NOT_DEFINED", "No standard price defined for this product")


def _roll_up_order(writer: Writer, order_id: str) -> None:
    order = writer.unit.get(order_id)
    if order is None or order.get("IsDeleted"):
        return
    total = round(
        sum(item.get("TotalPrice") or 0.0 for item in writer.unit.children("OrderItem", "OrderId", order_id)), 2
    )
    if order.get("TotalAmount") != total:
        # A roll-up is a system change: it moves the timestamps and fires an update event, not a user edit.
        writer.apply(writer.schema.objects["Order"], order, {"TotalAmount": total}, change=False)


def _opportunity_amount(writer: Writer, record: Record) -> None:
    """While an opportunity has products, its Amount is their total and cannot be written."""
    items = writer.unit.children("OpportunityLineItem", "OpportunityId", record["Id"])
    record["HasOpportunityLineItem"] = bool(items)
    if items:
        record["Amount"] = round(sum(item.get("TotalPrice") or 0.0 for item in items), 2)


def _roll_up_opportunity(writer: Writer, opportunity_id: str) -> None:
    opportunity = writer.unit.get(opportunity_id)
    if opportunity is None or opportunity.get("IsDeleted"):
        return
    staged = dict(opportunity)
    _opportunity_amount(writer, staged)
    if (staged.get("Amount"), staged["HasOpportunityLineItem"]) != (
        opportunity.get("Amount"),
        opportunity.get("HasOpportunityLineItem"),
    ):
        writer.apply(writer.schema.objects["Opportunity"], opportunity, {}, change=False)
