"""Price lists into price books: the base list into the standard price book, group lists into custom ones.

Salesforce keeps one PricebookEntry per (price book, product, currency), and refuses to change an entry's price
book or product after it is created, so an upsert by external id (which would send both) cannot update entries.
Entries are therefore found with one query per 200 items and then created or updated in collections of 200; an
entry whose price is already right is not written at all. Items are named by their Crossdock_Id__c through the
`Product2` relationship, so no Product2 ids are looked up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from crossdock.connectors.salesforce.capture import soql_string
from crossdock.connectors.salesforce.client import COLLECTION_SIZE, RecordResult, SalesforceClient
from crossdock.connectors.salesforce.writes import record_error, salesforce_record, to_result
from crossdock.ports.connector import ConnectorError, ErrorKind, UpsertRequest, UpsertResult

_KIND_ORDER = (ErrorKind.DOWNSTREAM_OUTAGE, ErrorKind.TRANSIENT, ErrorKind.CONFIGURATION, ErrorKind.DATA_QUALITY)


@dataclass(slots=True)
class _Entry:
    position: int  # the price list request it belongs to
    pricebook_id: str
    item_id: str
    currency: str
    unit_price: float
    error: ConnectorError | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class _PriceList:
    request: UpsertRequest
    pricebook_id: str | None = None
    created: bool = False
    error: ConnectorError | None = None
    skipped_uoms: list[str] = field(default_factory=list)


class PricebookWriter:
    """Writes canonical price lists (mapped by price_list.outbound.yaml) into price books and their entries."""

    def __init__(self, client: SalesforceClient, external_id_field: str) -> None:
        self._client = client
        self._external_id = external_id_field
        self._standard_id: str | None = None

    async def write(self, requests: Sequence[UpsertRequest]) -> list[UpsertResult]:
        """Write each price list; its result fails if any of its entries failed (the details name them)."""
        lists = [_PriceList(request) for request in requests]
        try:
            await self._pricebooks(lists)
            entries = self._entries(lists)
            await self._write_entries(entries)
        except ConnectorError as exc:
            for price_list in lists:
                price_list.error = price_list.error or exc
            entries = []
        return [self._result(n, price_list, entries) for n, price_list in enumerate(lists)]

    async def _pricebooks(self, lists: list[_PriceList]) -> None:
        custom = [p for p in lists if not p.request.payload.get("IsStandard")]
        if len(custom) < len(lists):
            standard = await self.standard_pricebook_id()
            for price_list in lists:
                if price_list.request.payload.get("IsStandard"):
                    price_list.pricebook_id = standard
        for start in range(0, len(custom), COLLECTION_SIZE):
            chunk = custom[start : start + COLLECTION_SIZE]
            records = [self._pricebook_record(p.request) for p in chunk]
            answers = await self._client.upsert_collection("Pricebook2", self._external_id, records)
            for price_list, answer in zip(chunk, answers, strict=True):
                result = to_result("Pricebook2", price_list.request.canonical_id, answer)
                price_list.pricebook_id, price_list.created, price_list.error = answer.id, answer.created, result.error

    def _pricebook_record(self, request: UpsertRequest) -> dict[str, Any]:
        payload = {k: v for k, v in request.payload.items() if k not in ("Entries", "IsStandard", "CurrencyIsoCode")}
        return salesforce_record(UpsertRequest(request.canonical_id, payload), self._external_id)

    async def standard_pricebook_id(self) -> str:
        """The org's standard price book (looked up once per connector)."""
        if self._standard_id is None:
            rows = await self._client.query_all("SELECT Id FROM Pricebook2 WHERE IsStandard = true LIMIT 1")
            if not rows:
                raise ConnectorError(
                    ErrorKind.CONFIGURATION,
                    f"{self._client.system}: the org has no standard price book; activate Products and Price Books",
                )
            self._standard_id = str(rows[0]["Id"])
        return self._standard_id

    def _entries(self, lists: list[_PriceList]) -> list[_Entry]:
        entries: list[_Entry] = []
        for position, price_list in enumerate(lists):
            if price_list.error is not None or price_list.pricebook_id is None:
                continue
            payload = price_list.request.payload
            seen: set[str] = set()
            for line in payload.get("Entries") or []:
                item_id = str(line["item_id"])
                if item_id in seen:
                    # One price per product in a price book: the list's first UOM for the item wins.
                    price_list.skipped_uoms.append(f"{item_id}:{line.get('uom')}")
                    continue
                seen.add(item_id)
                entries.append(
                    _Entry(
                        position,
                        price_list.pricebook_id,
                        item_id,
                        str(payload.get("CurrencyIsoCode")),
                        float(line["UnitPrice"]),
                    )
                )
        return entries

    async def _write_entries(self, entries: list[_Entry]) -> None:
        for start in range(0, len(entries), COLLECTION_SIZE):
            chunk = entries[start : start + COLLECTION_SIZE]
            existing = await self._existing(chunk)
            creates: list[tuple[_Entry, dict[str, Any]]] = []
            updates: list[tuple[_Entry, dict[str, Any]]] = []
            for entry in chunk:
                row = existing.get((entry.pricebook_id, entry.item_id, entry.currency))
                if row is None:
                    creates.append((entry, self._new_entry(entry)))
                elif Decimal(str(row.get("UnitPrice"))) != Decimal(str(entry.unit_price)) or not row.get("IsActive"):
                    updates.append((entry, {"Id": row["Id"], "UnitPrice": entry.unit_price, "IsActive": True}))
            if creates:
                answers = await self._client.create_collection("PricebookEntry", [r for _, r in creates])
                self._settle(creates, answers)
            if updates:
                answers = await self._client.update_collection("PricebookEntry", [r for _, r in updates])
                self._settle(updates, answers)

    def _new_entry(self, entry: _Entry) -> dict[str, Any]:
        return {
            "Pricebook2Id": entry.pricebook_id,
            "Product2": {self._external_id: entry.item_id},
            "CurrencyIsoCode": entry.currency,
            "UnitPrice": entry.unit_price,
            "IsActive": True,
        }

    async def _existing(self, chunk: list[_Entry]) -> dict[tuple[str, str, str], dict[str, Any]]:
        pricebooks = sorted({e.pricebook_id for e in chunk})
        items = sorted({e.item_id for e in chunk})
        ext = self._external_id
        # SOQL with quoted and escaped literals; the field name comes from the settings.
        soql = (
            f"SELECT Id, Pricebook2Id, Product2.{ext}, CurrencyIsoCode, UnitPrice, IsActive FROM PricebookEntry "  # noqa: S608
            f"WHERE Pricebook2Id IN ({', '.join(map(soql_string, pricebooks))}) "
            f"AND Product2.{ext} IN ({', '.join(map(soql_string, items))})"
        )
        rows = await self._client.query_all(soql)
        return {
            (str(r["Pricebook2Id"]), str((r.get("Product2") or {}).get(ext)), str(r.get("CurrencyIsoCode"))): r
            for r in rows
        }

    def _settle(self, written: list[tuple[_Entry, dict[str, Any]]], answers: list[RecordResult]) -> None:
        for (entry, _), answer in zip(written, answers, strict=True):
            if not answer.success:
                entry.error = record_error("PricebookEntry", entry.item_id, answer.errors)
                entry.errors = answer.errors

    def _result(self, position: int, price_list: _PriceList, entries: list[_Entry]) -> UpsertResult:
        canonical_id = price_list.request.canonical_id
        details: dict[str, Any] = {}
        if price_list.skipped_uoms:
            details["skipped_uoms"] = price_list.skipped_uoms
        if price_list.error is not None:
            return UpsertResult(canonical_id, error=price_list.error, details=details)
        failed = [e for e in entries if e.position == position and e.error is not None]
        details["entries"] = sum(1 for e in entries if e.position == position)
        if failed:
            details["failed_entries"] = [{"item_id": e.item_id, "errors": e.errors} for e in failed]
            worst = min(failed, key=lambda e: _KIND_ORDER.index(e.error.kind if e.error else ErrorKind.DATA_QUALITY))
            assert worst.error is not None
            error = ConnectorError(
                worst.error.kind,
                f"price list {canonical_id}: {len(failed)} of {details['entries']} entries refused; first: "
                f"{failed[0].error}",
                retry_after_s=worst.error.retry_after_s,
            )
            return UpsertResult(canonical_id, local_id=self._local_id(price_list), error=error, details=details)
        return UpsertResult(
            canonical_id, local_id=self._local_id(price_list), created=price_list.created, details=details
        )

    def _local_id(self, price_list: _PriceList) -> str | None:
        """A group list owns its price book; base lists share the standard one, so each is known by its canonical
        id within it (a cross-reference must name one record per canonical object)."""
        if price_list.pricebook_id is not None and price_list.pricebook_id == self._standard_id:
            return f"{price_list.pricebook_id}:{price_list.request.canonical_id}"
        return price_list.pricebook_id
