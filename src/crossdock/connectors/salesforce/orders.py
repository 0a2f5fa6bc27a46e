"""The OrderStatusBoard port on Salesforce: the ERP's view of an order, written onto the CRM order and its lines.

The order is the Order a sales order was captured from, or the won Opportunity (`order_capture`). Both carry the
same custom fields, which a distributor's org adds for this:

- ERP_Status__c: the canonical status in words (`partially_shipped` is "Partially Shipped");
- ERP_Order_Number__c, Promised_Date__c; Status_Reason__c, the reason cut to 255 characters;
- Tracking_Numbers__c and Invoice_Numbers__c, joined by ", "; past 255 characters the last ones give way to
  "+N more";
- Invoice_Status__c, the invoice state in words like the status;
- on each OrderItem or OpportunityLineItem, Shipped_Quantity__c, Backordered_Quantity__c and
  Cancelled_Quantity__c (what will not ship: a drop-ship supplier refused it).

A report is the order's whole status: what it leaves out is cleared, so writing the same report twice leaves the same
values (only Salesforce's timestamps move, and the capture reads that back as nothing new). The order and its lines
go in one `PATCH /composite/sobjects` call of up to 200 records, through the client's call budget and pacing.

A line is named by its Salesforce id (OrderItem `802...`, OpportunityLineItem `00k...`) or by its line number in the
canonical order (`"1"`, `"2"`, ...). Line n is the n-th line in `OrderObject.line_order`, the order the capture
numbers lines in. `order_line_ids` answers the ids in that order, so a process can resolve numbers once and keep
the ids; a report naming lines by number costs one query more.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from crossdock.connectors.salesforce.capture import soql_string
from crossdock.connectors.salesforce.client import COLLECTION_SIZE, SalesforceClient
from crossdock.connectors.salesforce.order_capture import ORDER, OrderObject, order_object, read_children
from crossdock.connectors.salesforce.writes import most_retryable, record_error
from crossdock.ports.connector import ConnectorError, ErrorKind
from crossdock.ports.orders import OrderLineStatus, OrderStatusReport

STATUS_FIELDS = (
    "ERP_Status__c",
    "ERP_Order_Number__c",
    "Promised_Date__c",
    "Status_Reason__c",
    "Tracking_Numbers__c",
    "Invoice_Numbers__c",
    "Invoice_Status__c",
)
LINE_STATUS_FIELDS = ("Shipped_Quantity__c", "Backordered_Quantity__c", "Cancelled_Quantity__c")
TEXT_LIMIT = 255
_LINE_NUMBER = re.compile(r"[0-9]{1,6}")
_RECORD_ID = re.compile(r"[0-9A-Za-z]{15}([0-9A-Za-z]{3})?")
_MORE = re.compile(r"\+[0-9]+ more")


class SalesforceOrderStatusBoard:
    """Shows sales reps where their orders are: status fields on Salesforce Orders and won Opportunities."""

    def __init__(self, client: SalesforceClient) -> None:
        self._client = client

    @property
    def system(self) -> str:
        """The configured system name."""
        return self._client.system

    async def report_order_status(self, report: OrderStatusReport) -> None:
        """Write the status onto the order and its lines, one call per 200 records; raise if any was refused."""
        kind = self._kind(report.order_local_id)
        header = {"Id": report.order_local_id, **status_values(report)}
        records: list[tuple[str, dict[str, Any]]] = [(kind.sobject, header)]
        records += [(kind.line_sobject, line) for line in await self._line_values(kind, report)]
        refused: list[ConnectorError] = []
        for start in range(0, len(records), COLLECTION_SIZE):
            chunk = records[start : start + COLLECTION_SIZE]
            results = await self._client.update_typed_collection(chunk)
            refused += [
                record_error(sobject, str(record["Id"]), result.errors)
                for (sobject, record), result in zip(chunk, results, strict=True)
                if not result.success
            ]
        if refused:
            first = most_retryable(refused)
            raise ConnectorError(
                first.kind,
                f"{self.system}: the status of order {report.order_local_id} was not fully written ({len(refused)} of "
                f"{len(records)} records refused); {first}",
                retry_after_s=first.retry_after_s,
            )

    async def read_order_status(self, order_local_id: str) -> OrderStatusReport:
        """The status the order shows now; lines without a shipped or backordered quantity are left out."""
        kind = self._kind(order_local_id)
        line_query = kind.line_subquery(["Id", *LINE_STATUS_FIELDS])
        fields = ", ".join(["Id", kind.state_field, *STATUS_FIELDS, line_query])
        soql = f"SELECT {fields} FROM {kind.sobject} WHERE Id = {soql_string(order_local_id)}"  # noqa: S608
        rows = await self._client.query_all(soql)
        if not rows:
            raise ConnectorError(
                ErrorKind.DATA_QUALITY,
                f"{self.system}: {kind.sobject} {order_local_id} is not in Salesforce; it may have been deleted",
            )
        row = rows[0]
        lines = [
            OrderLineStatus(
                line_local_id=str(line["Id"]),
                shipped_quantity=_decimal(line.get("Shipped_Quantity__c")),
                backordered_quantity=_decimal(line.get("Backordered_Quantity__c")),
                cancelled_quantity=_decimal(line.get("Cancelled_Quantity__c")),
            )
            for line in await read_children(self._client, row, kind.lines)
            if any(line.get(field) is not None for field in LINE_STATUS_FIELDS)
        ]
        submitted = row.get(kind.state_field) == kind.submitted_value
        promised = row.get("Promised_Date__c")
        return OrderStatusReport(
            order_local_id=str(row["Id"]),
            # An order the ERP has not reported on yet shows what Salesforce itself says.
            status=_code(row.get("ERP_Status__c")) or ("submitted" if submitted else "draft"),
            erp_order_number=row.get("ERP_Order_Number__c"),
            promised_date=date.fromisoformat(promised) if promised else None,
            reason=row.get("Status_Reason__c"),
            tracking=_split(row.get("Tracking_Numbers__c")),
            invoice_numbers=_split(row.get("Invoice_Numbers__c")),
            invoice_state=_code(row.get("Invoice_Status__c")),
            lines=lines,
        )

    async def order_line_ids(self, order_local_id: str) -> list[str]:
        """The Salesforce ids of the order's lines in line-number order: line n is `ids[n - 1]`."""
        kind = self._kind(order_local_id)
        soql = (
            f"SELECT Id FROM {kind.line_sobject} WHERE {kind.parent_field} = {soql_string(order_local_id)} "  # noqa: S608
            f"ORDER BY {kind.line_order}"
        )
        return [str(row["Id"]) for row in await self._client.query_all(soql)]

    async def _line_values(self, kind: OrderObject, report: OrderStatusReport) -> list[dict[str, Any]]:
        ids: list[str] | None = None
        values: dict[str, dict[str, Any]] = {}
        for line in report.lines:
            line_id = line.line_local_id.strip()
            if _LINE_NUMBER.fullmatch(line_id):
                if ids is None:
                    ids = await self.order_line_ids(report.order_local_id)
                number = int(line_id)
                if not 1 <= number <= len(ids):
                    raise ConnectorError(
                        ErrorKind.DATA_QUALITY,
                        f"{self.system}: order {report.order_local_id} has {len(ids)} lines, so it has no line "
                        f"{number}; report lines by the numbers of the captured order or by their Salesforce ids",
                    )
                line_id = ids[number - 1]
            elif not (_RECORD_ID.fullmatch(line_id) and line_id.startswith(kind.line_prefix)):
                raise ConnectorError(
                    ErrorKind.DATA_QUALITY,
                    f"{self.system}: line {line.line_local_id!r} of order {report.order_local_id} is neither a line "
                    f"number nor an {kind.line_sobject} id ({kind.line_prefix}...)",
                )
            if line_id in values:
                # Salesforce refuses an id twice in one call; two statuses for one line is the caller's mistake.
                raise ConnectorError(
                    ErrorKind.DATA_QUALITY,
                    f"{self.system}: the status report of order {report.order_local_id} names line {line_id} twice",
                )
            values[line_id] = {
                "Id": line_id,
                "Shipped_Quantity__c": float(line.shipped_quantity),
                "Backordered_Quantity__c": float(line.backordered_quantity),
                "Cancelled_Quantity__c": float(line.cancelled_quantity),
            }
        return list(values.values())

    def _kind(self, order_local_id: str) -> OrderObject:
        kind = order_object(order_local_id) if _RECORD_ID.fullmatch(order_local_id) else None
        if kind is None:
            raise ConnectorError(
                ErrorKind.DATA_QUALITY,
                f"{self.system}: {order_local_id!r} is not the id of a Salesforce Order ({ORDER.key_prefix}...) or "
                f"Opportunity; give the local id the sales order was captured with",
            )
        return kind


def status_values(report: OrderStatusReport) -> dict[str, Any]:
    """The order's status fields for a report (null where the report has no value, clearing what was there)."""
    return {
        "ERP_Status__c": _words(report.status),
        "ERP_Order_Number__c": report.erp_order_number or None,
        "Promised_Date__c": report.promised_date.isoformat() if report.promised_date else None,
        "Status_Reason__c": _fit(report.reason),
        "Tracking_Numbers__c": joined(report.tracking),
        "Invoice_Numbers__c": joined(report.invoice_numbers),
        "Invoice_Status__c": _words(report.invoice_state) if report.invoice_state else None,
    }


def joined(values: Sequence[str], limit: int = TEXT_LIMIT) -> str | None:
    """Values joined by ", " within `limit` characters: as many as fit, then "+N more" for the rest."""
    values = [value.strip() for value in values if value and value.strip()]
    if not values:
        return None
    for keep in range(len(values), 0, -1):
        rest = len(values) - keep
        text = ", ".join(values[:keep] + ([f"+{rest} more"] if rest else []))
        if len(text) <= limit:
            return text
    return f"+{len(values)} more"


def _split(text: str | None) -> list[str]:
    if not text:
        return []
    return [part.strip() for part in text.split(",") if part.strip() and not _MORE.fullmatch(part.strip())]


def _fit(text: str | None) -> str | None:
    if not text:
        return None
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 3] + "..."


def _words(code: str) -> str:
    """`partially_shipped` -> `Partially Shipped`: how a sales rep reads a status."""
    return code.replace("_", " ").title()


def _code(words: str | None) -> str | None:
    """`Partially Shipped` -> `partially_shipped`, the inverse of `_words`."""
    if not words or not words.strip():
        return None
    return "_".join(words.strip().lower().split())


def _decimal(value: Any) -> Decimal:
    # Salesforce returns numbers as JSON floats; their shortest text is the value that was written.
    return Decimal(str(value)) if value is not None else Decimal(0)
