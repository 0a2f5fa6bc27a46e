"""Writing records: upserts by external id in composite collections of 200, per-record results, and the taxonomy.

A request the cross-reference already knows (it has a local id) is updated by its Salesforce Id and stamped with
its canonical id in the external id field: an account created in Salesforce and captured by Crossdock has no
Crossdock_Id__c yet, and an upsert by external id would create a second one. Every other request is upserted by the
external id field, which makes a repeated write change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crossdock.connectors.salesforce.client import COLLECTION_SIZE, RecordResult, SalesforceClient
from crossdock.connectors.salesforce.errors import classify_record_error, describe_errors
from crossdock.ports.connector import ConnectorError, ErrorKind, UpsertRequest, UpsertResult

FOREIGN_KEY_RETRY_S = 60.0
_KIND_ORDER = (ErrorKind.DOWNSTREAM_OUTAGE, ErrorKind.TRANSIENT, ErrorKind.CONFIGURATION, ErrorKind.DATA_QUALITY)


def salesforce_record(request: UpsertRequest, external_id_field: str) -> dict[str, Any]:
    """The record to send for a request: its mapped payload, stamped with the canonical id, lookups resolved."""
    record: dict[str, Any] = {}
    for key, value in request.payload.items():
        if key in ("attributes", "Id"):
            continue
        if isinstance(value, dict) and set(value) == {external_id_field} and value[external_id_field] is None:
            # A relationship to no record (`Parent: {Crossdock_Id__c: null}`) clears the lookup field instead.
            record[lookup_field(key)] = None
        else:
            record[key] = value
    record[external_id_field] = request.canonical_id
    return record


def lookup_field(relationship: str) -> str:
    """The lookup field behind a relationship name: `Parent` → `ParentId`, `Region__r` → `Region__c`."""
    return relationship[:-3] + "__c" if relationship.endswith("__r") else relationship + "Id"


def chunks(items: Sequence[tuple[int, str, dict[str, Any]]]) -> list[list[tuple[int, str, dict[str, Any]]]]:
    """Groups of at most 200 (position, key, record), never two records with one key in a group (Salesforce
    refuses duplicates in one collection), in the original order."""
    out: list[list[tuple[int, str, dict[str, Any]]]] = []
    current: list[tuple[int, str, dict[str, Any]]] = []
    keys: set[str] = set()
    for item in items:
        if len(current) == COLLECTION_SIZE or item[1] in keys:
            out.append(current)
            current, keys = [], set()
        current.append(item)
        keys.add(item[1])
    if current:
        out.append(current)
    return out


def record_error(sobject: str, key: str, errors: list[dict[str, Any]]) -> ConnectorError:
    """The ConnectorError for a record Salesforce refused, of the most retryable kind among its errors."""
    kinds = [classify_record_error(error, foreign_key_retry_s=FOREIGN_KEY_RETRY_S) for error in errors] or [
        (ErrorKind.DATA_QUALITY, None)
    ]
    kind, retry = min(kinds, key=lambda pair: _KIND_ORDER.index(pair[0]))
    return ConnectorError(kind, f"{sobject} {key}: {describe_errors(errors)}", retry_after_s=retry)


def most_retryable(errors: Sequence[ConnectorError]) -> ConnectorError:
    """Of several records' errors, the one to act on: the kind a wait or a retry cures first."""
    return min(errors, key=lambda error: _KIND_ORDER.index(error.kind))


def to_result(sobject: str, canonical_id: str, result: RecordResult) -> UpsertResult:
    """Salesforce's answer for one record as the port's UpsertResult."""
    if result.success:
        return UpsertResult(canonical_id, local_id=result.id, created=result.created)
    return UpsertResult(
        canonical_id,
        local_id=result.id,
        error=record_error(sobject, canonical_id, result.errors),
        details={"errors": result.errors},
    )


async def upsert_records(
    client: SalesforceClient, sobject: str, external_id_field: str, requests: Sequence[UpsertRequest]
) -> list[UpsertResult]:
    """Write requests in collections of 200: updates by Id for known records, upserts by external id for the rest."""
    results: list[UpsertResult | None] = [None] * len(requests)
    by_id = [
        (n, r.local_id or "", salesforce_record(r, external_id_field)) for n, r in enumerate(requests) if r.local_id
    ]
    by_key = [
        (n, r.canonical_id, salesforce_record(r, external_id_field)) for n, r in enumerate(requests) if not r.local_id
    ]
    for _, local_id, record in by_id:
        record["Id"] = local_id
    stop: ConnectorError | None = None
    for group, update in ((by_id, True), (by_key, False)):
        for chunk in chunks(group):
            if stop is None:
                records = [record for _, _, record in chunk]
                try:
                    answers = (
                        await client.update_collection(sobject, records)
                        if update
                        else await client.upsert_collection(sobject, external_id_field, records)
                    )
                except ConnectorError as exc:
                    # Limits, outages and a bad setup hit every later chunk too: answer for them without calling.
                    if exc.kind is not ErrorKind.DATA_QUALITY:
                        stop = exc
                    for position, _, _ in chunk:
                        results[position] = UpsertResult(requests[position].canonical_id, error=exc)
                    continue
                for (position, _, _), answer in zip(chunk, answers, strict=True):
                    results[position] = to_result(sobject, requests[position].canonical_id, answer)
            else:
                for position, _, _ in chunk:
                    results[position] = UpsertResult(requests[position].canonical_id, error=stop)
    return [result for result in results if result is not None]
