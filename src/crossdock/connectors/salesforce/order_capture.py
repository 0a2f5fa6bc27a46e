"""Sales orders from Salesforce: activated Orders, and won Opportunities with products, each read with its lines.

What the entity `sales_order` captures:

- an Order once its Status is Activated, with its OrderItems in the same query (a child subquery). A Draft order
  is not a submitted order and is not read; activating it is the change that brings it in.
- an Opportunity once it is won (IsWon) and has products (HasOpportunityLineItem), with its
  OpportunityLineItems, shaped like an Order (`opportunity_as_order`) so that one inbound spec maps both.
- either again whenever it or one of its lines changes. A line edit touches its order only when it changes the
  rolled-up total, so the lines are watched too: an order whose line changed after the order itself did is read
  again by id (one that changed with or after its line is the order poll's, which reads it as it is now, so an
  initial load reads each order once).

Lines are read in a fixed order (`OrderObject.line_order`: OrderItemNumber; opportunity products by CreatedDate,
Id) and numbered 1..n in `attributes.lineNumber`, which the inbound spec takes as the line number. The status board
(`orders.py`) finds line n's Salesforce id by the same order.

Polling keeps one poll cursor (`capture.PollCursor`) per object read (Order, OrderItem, Opportunity,
OpportunityLineItem) in one JSON cursor, so a quiet poll costs four queries. Deletes are not reported: Salesforce
refuses to delete an activated order (it must go back to Draft first), a draft was never a sales order, and a won
opportunity deleted later is left to reconciliation.

Change Data Capture reads `/data/ChangeEvents` (select Order, OrderItem, Opportunity and OpportunityLineItem for
CDC in the org) and reads the submitted orders and opportunities its events name, directly or through their lines,
one query per object. The cursor is the replay id of the last event handled.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from crossdock.connectors.salesforce.capture import PollCapture, soql_fields, soql_string
from crossdock.connectors.salesforce.cdc import FETCH_CHUNK, ChangeEventSource
from crossdock.connectors.salesforce.client import SalesforceClient, parse_datetime
from crossdock.connectors.salesforce.config import CaptureSettings
from crossdock.ports.connector import ChangeBatch, SourceRecord

logger = logging.getLogger(__name__)

SALES_ORDER = "sales_order"
"""The connector's entity for sales orders taken in the CRM."""
CHANGE_EVENTS = "/data/ChangeEvents"
"""The CDC channel that carries every selected object's change events."""
_CURSOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class OrderObject:
    """How Salesforce holds a sales order: an Order with OrderItems, or a won Opportunity with its products."""

    sobject: str
    key_prefix: str
    lines: str
    """The child relationship of its lines (`OrderItems`)."""
    line_sobject: str
    line_prefix: str
    parent_field: str
    """The line's lookup to the order (`OrderId`)."""
    line_order: str
    """SOQL `ORDER BY` of the lines: line n of the canonical order is the n-th line in this order."""
    submitted: tuple[str, ...]
    """SOQL conditions (joined by AND) that make the record a submitted sales order."""
    state_field: str
    """The field that says whether the record is submitted (for reading a status back)."""
    submitted_value: Any

    @property
    def condition(self) -> str:
        """The SOQL condition on the order itself."""
        return " AND ".join(self.submitted)

    @property
    def line_condition(self) -> str:
        """The SOQL condition on a line, through its parent relationship (named like the parent object)."""
        return " AND ".join(f"{self.sobject}.{term}" for term in self.submitted)

    def line_subquery(self, fields: Iterable[str]) -> str:
        """`(SELECT ... FROM OrderItems ORDER BY OrderItemNumber)`."""
        return f"(SELECT {', '.join(fields)} FROM {self.lines} ORDER BY {self.line_order})"  # noqa: S608 - SOQL of constants


ORDER = OrderObject(
    sobject="Order",
    key_prefix="801",
    lines="OrderItems",
    line_sobject="OrderItem",
    line_prefix="802",
    parent_field="OrderId",
    line_order="OrderItemNumber",  # an org-wide auto-number: unique, so the order is stable
    submitted=("Status = 'Activated'",),
    state_field="Status",
    submitted_value="Activated",
)
# Opportunity products have no number; SortOrder (the UI's manual order) cannot be sorted on in SOQL.
OPPORTUNITY = OrderObject(
    sobject="Opportunity",
    key_prefix="006",
    lines="OpportunityLineItems",
    line_sobject="OpportunityLineItem",
    line_prefix="00k",
    parent_field="OpportunityId",
    line_order="CreatedDate, Id",
    submitted=("IsWon = true", "HasOpportunityLineItem = true"),
    state_field="IsWon",
    submitted_value=True,
)
ORDER_OBJECTS = (ORDER, OPPORTUNITY)

LINE_FIELDS = (
    "Id",
    "Quantity",
    "UnitPrice",
    "CurrencyIsoCode",
    "Description",
    "Product2.ProductCode",
    "Product2.Crossdock_Id__c",
    "Product2.QuantityUnitOfMeasure",
)
"""What is read of each line, for sales_order.inbound.yaml's `lines` (an `each:` rule, which `read_fields` skips)."""
ORDER_FIELDS = ("Status", "Type", ORDER.line_subquery(LINE_FIELDS))
"""Read with every order besides the inbound spec's fields. Type stays in the payload: "Drop Ship" says the
customer asked for a drop shipment, which the canonical order has no field for."""
OPPORTUNITY_FIELDS = (
    "Id",
    "SystemModstamp",
    "Name",
    "StageName",
    "IsWon",
    "CloseDate",
    "CurrencyIsoCode",
    "OwnerId",
    "Description",
    "AccountId",
    "Account.Crossdock_Id__c",
    "Account.Sales_Channel__c",
    "Account.ShippingStreet",
    "Account.ShippingCity",
    "Account.ShippingState",
    "Account.ShippingPostalCode",
    "Account.ShippingCountry",
    OPPORTUNITY.line_subquery(LINE_FIELDS),
)
_ACCOUNT_SHIPPING = {
    "street": "ShippingStreet",
    "city": "ShippingCity",
    "state": "ShippingState",
    "postalCode": "ShippingPostalCode",
    "country": "ShippingCountry",
}


def order_object(local_id: str) -> OrderObject | None:
    """The kind of sales order record an id names (by its key prefix), or None."""
    return next((kind for kind in ORDER_OBJECTS if local_id.startswith(kind.key_prefix)), None)


def opportunity_as_order(row: dict[str, Any]) -> dict[str, Any]:
    """A won opportunity in the shape of an Order query row, so sales_order.inbound.yaml maps it too.

    The order number is `OPP-<18-character opportunity id>` (an opportunity has no number of its own; the id is
    unique and never changes), the order date is the close date, and the ship-to is the account's shipping address
    (an opportunity has none). The opportunity's own Crossdock_Id__c is left out: it is not the sales order's
    canonical id, so the capture must not adopt it.
    """
    account = row.get("Account")
    shipping = None
    if isinstance(account, dict) and any(account.get(field) for field in _ACCOUNT_SHIPPING.values()):
        shipping = {key: account.get(field) for key, field in _ACCOUNT_SHIPPING.items()}
        shipping.update(geocodeAccuracy=None, latitude=None, longitude=None)
    if isinstance(account, dict):
        account = {key: value for key, value in account.items() if not key.startswith("Shipping")}
    return {
        "attributes": row.get("attributes", {"type": OPPORTUNITY.sobject}),
        "Id": row["Id"],
        "SystemModstamp": row.get("SystemModstamp"),
        "OrderNumber": f"OPP-{row['Id']}",
        "Name": row.get("Name"),
        "StageName": row.get("StageName"),
        "OwnerId": row.get("OwnerId"),
        "AccountId": row.get("AccountId"),
        "Account": account,
        "EffectiveDate": row.get("CloseDate"),
        "CurrencyIsoCode": row.get("CurrencyIsoCode"),
        "PoNumber": None,
        "Description": row.get("Description"),
        "ShippingAddress": shipping,
        ORDER.lines: row.get(OPPORTUNITY.lines),
    }


async def read_children(client: SalesforceClient, row: dict[str, Any], relationship: str) -> list[dict[str, Any]]:
    """Every record of a child subquery in a row, following its own `nextRecordsUrl` when Salesforce paged it."""
    children = row.get(relationship)
    if not isinstance(children, dict):
        return []  # an empty child relationship is null
    records = list(children.get("records") or [])
    while not children.get("done", True) and children.get("nextRecordsUrl"):
        children = await client.request("GET", str(children["nextRecordsUrl"]))
        records.extend(children.get("records") or [])
    return records


class SalesOrderCapture:
    """Finds submitted Orders and won Opportunities changed since a cursor, by polling or from change events."""

    def __init__(
        self, client: SalesforceClient, poll: PollCapture, events: ChangeEventSource, settings: CaptureSettings
    ) -> None:
        self._client = client
        self._poll = poll
        self._events = events
        self._settings = settings

    async def read(self, order_fields: list[str], cursor: str | None, limit: int) -> ChangeBatch:
        """Sales orders changed after the cursor; `order_fields` are the Order fields the inbound spec reads."""
        fields = {ORDER: soql_fields([*order_fields, *ORDER_FIELDS]), OPPORTUNITY: list(OPPORTUNITY_FIELDS)}
        if self._settings.mode == "cdc":
            return await self._read_events(fields, cursor, limit)
        return await self._read_polls(fields, cursor, limit)

    # -- polling --------------------------------------------------------------------------------------------------

    async def _read_polls(self, fields: dict[OrderObject, list[str]], cursor: str | None, limit: int) -> ChangeBatch:
        cursors = _load_cursors(cursor)
        found: dict[str, SourceRecord] = {}
        more = False
        for kind in ORDER_OBJECTS:
            if len(found) >= limit:
                more = True  # the rest is read on the next call, from the cursors as they are
                break
            batch = await self._poll.read(
                kind.sobject,
                fields[kind],
                cursors.get(kind.sobject),
                limit - len(found),
                condition=kind.condition,
                deletes=False,
            )
            cursors[kind.sobject] = batch.next_cursor
            more = more or batch.more
            for record in batch.records:
                found[record.local_id] = record
            if len(found) >= limit:
                more = True
                break
            lines = await self._poll.read(
                kind.line_sobject,
                ["Id", "SystemModstamp", kind.parent_field, f"{kind.sobject}.SystemModstamp"],
                cursors.get(kind.line_sobject),
                limit - len(found),
                condition=kind.line_condition,
                deletes=False,
            )
            cursors[kind.line_sobject] = lines.next_cursor
            more = more or lines.more
            touched: dict[str, str] = {}  # order id -> its newest line change
            for line in lines.records:
                order_id, stamp = str(line.payload[kind.parent_field]), str(line.payload["SystemModstamp"])
                order_stamp = str((line.payload.get(kind.sobject) or {}).get("SystemModstamp") or stamp)
                # An order that changed with or after its line is read by the order poll, as it is now.
                if order_id in found or not _later(stamp, order_stamp):
                    continue
                if order_id not in touched or _later(stamp, touched[order_id]):
                    touched[order_id] = stamp
            for row in await self._read_by_id(kind, fields[kind], list(touched)):
                order_id = str(row["Id"])
                stamp = str(row["SystemModstamp"])
                # The order changed when its line did, even if its own timestamp is older.
                changed_at = touched[order_id] if _later(touched[order_id], stamp) else stamp
                found[order_id] = SourceRecord(order_id, row, changed_at=changed_at)
        records = [await self._shaped(record) for record in found.values()]
        records.sort(key=lambda record: parse_datetime(record.changed_at or ""))  # oldest first, as the port says
        return ChangeBatch(records=records, next_cursor=_dump_cursors(cursors), more=more)

    # -- change events --------------------------------------------------------------------------------------------

    async def _read_events(self, fields: dict[OrderObject, list[str]], cursor: str | None, limit: int) -> ChangeBatch:
        try:
            replay_id = int(cursor) if cursor else self._settings.cdc_initial_replay
        except ValueError:
            raise ValueError(
                f"the sales order CDC cursor {str(cursor)[:60]!r} is not a replay id; reset the flow's cursor"
            ) from None
        batch = await self._events.fetch(CHANGE_EVENTS, replay_id, self._settings.cdc_wait_s, limit)
        resume = str(batch.resume_from) if batch.resume_from is not None and batch.resume_from >= 0 else cursor
        if not batch.events:
            return ChangeBatch(records=[], next_cursor=resume, more=False)
        orders, lines = self._named_by(batch.events)
        records: list[SourceRecord] = []
        for kind in ORDER_OBJECTS:
            for order_id in await self._parents_of(kind, list(lines[kind])):
                orders[kind][order_id] = None
            for row in await self._read_by_id(kind, fields[kind], list(orders[kind])):
                record = SourceRecord(str(row["Id"]), row, changed_at=str(row.get("SystemModstamp") or "") or None)
                records.append(await self._shaped(record))
        last = int(batch.events[-1]["data"]["event"]["replayId"])
        return ChangeBatch(records=records, next_cursor=str(last), more=len(batch.events) >= limit)

    def _named_by(
        self, events: list[dict[str, Any]]
    ) -> tuple[dict[OrderObject, dict[str, None]], dict[OrderObject, dict[str, None]]]:
        """The orders the events name, and the lines whose order they do not name, per kind (ordered sets)."""
        orders: dict[OrderObject, dict[str, None]] = {kind: {} for kind in ORDER_OBJECTS}
        lines: dict[OrderObject, dict[str, None]] = {kind: {} for kind in ORDER_OBJECTS}
        for event in events:
            payload = event["data"].get("payload", {})
            header = payload.get("ChangeEventHeader", {})
            change_type = str(header.get("changeType", ""))
            if change_type == "GAP_OVERFLOW":
                logger.warning(
                    "%s: CDC overflow at replay id %s; the nightly reconciliation must catch the orders it hid",
                    self._client.system,
                    event["data"]["event"]["replayId"],
                )
                continue
            if change_type.endswith("DELETE") and not change_type.endswith("UNDELETE"):
                continue  # see the module docstring: deletes are not sales order news
            entity = str(header.get("entityName", ""))
            record_ids = dict.fromkeys(str(record_id) for record_id in header.get("recordIds") or [])
            for kind in ORDER_OBJECTS:
                parent = payload.get(kind.parent_field)  # a create carries every field, an update only the changed
                if entity == kind.sobject:
                    orders[kind].update(record_ids)
                elif entity == kind.line_sobject and parent:
                    orders[kind][str(parent)] = None
                elif entity == kind.line_sobject:
                    lines[kind].update(record_ids)
        return orders, lines

    async def _parents_of(self, kind: OrderObject, line_ids: list[str]) -> list[str]:
        """The orders of some lines, each once."""
        parents: dict[str, None] = {}
        for start in range(0, len(line_ids), FETCH_CHUNK):
            ids_in = ", ".join(map(soql_string, line_ids[start : start + FETCH_CHUNK]))
            soql = f"SELECT Id, {kind.parent_field} FROM {kind.line_sobject} WHERE Id IN ({ids_in})"  # noqa: S608
            for row in await self._client.query_all(soql, batch_size=self._settings.page_size):
                parents[str(row[kind.parent_field])] = None
        return list(parents)

    # -- reading and shaping --------------------------------------------------------------------------------------

    async def _read_by_id(self, kind: OrderObject, fields: list[str], ids: list[str]) -> list[dict[str, Any]]:
        """The submitted records among `ids`, as they are now."""
        rows: list[dict[str, Any]] = []
        for start in range(0, len(ids), FETCH_CHUNK):
            ids_in = ", ".join(map(soql_string, ids[start : start + FETCH_CHUNK]))
            # SOQL, not SQL: the fields come from the specs and this module, the ids are quoted literals.
            soql = f"SELECT {', '.join(fields)} FROM {kind.sobject} WHERE Id IN ({ids_in}) AND {kind.condition}"  # noqa: S608
            rows.extend(await self._client.query_all(soql, batch_size=self._settings.page_size))
        return rows

    async def _shaped(self, record: SourceRecord) -> SourceRecord:
        """The record with all its lines, numbered, and an opportunity in the shape of an order."""
        payload = record.payload
        kind = order_object(record.local_id) or ORDER
        children = await read_children(self._client, payload, kind.lines)
        for number, line in enumerate(children, start=1):
            line["attributes"] = {**(line.get("attributes") or {}), "lineNumber": number}
        if children:
            payload[kind.lines] = {"totalSize": len(children), "done": True, "records": children}
        if kind is OPPORTUNITY:
            payload = opportunity_as_order(payload)
        return SourceRecord(record.local_id, payload, changed_at=record.changed_at, deleted=record.deleted)


def _later(first: str, second: str) -> bool:
    return parse_datetime(first) > parse_datetime(second)


def _load_cursors(text: str | None) -> dict[str, str | None]:
    """Poll cursor text per object, from the sales order cursor."""
    if not text:
        return {}
    try:
        data = orjson.loads(text)
        if not isinstance(data, dict) or data.get("v") != _CURSOR_VERSION:
            raise ValueError("not a sales order poll cursor")
        return {
            name: orjson.dumps(value).decode() if value is not None else None
            for name, value in data.items()
            if name != "v"
        }
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise ValueError(
            f"the Salesforce sales order cursor {text[:60]!r} cannot be read ({exc}); reset the flow's cursor to "
            f"read every submitted order again"
        ) from None


def _dump_cursors(cursors: dict[str, str | None]) -> str:
    # Nested as JSON objects, not as quoted text, so that a person can read a stored cursor.
    nested = {name: orjson.loads(value) if value else None for name, value in cursors.items()}
    return orjson.dumps({"v": _CURSOR_VERSION, **nested}).decode()
