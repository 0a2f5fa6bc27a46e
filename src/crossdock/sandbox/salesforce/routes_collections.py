"""sObject Collections: create, update, upsert and delete up to 200 records per call, and retrieve by ids.

Every record is answered in order with `{"id", "success", "errors"}` (`"created"` too for upserts); a record's
error is `{"statusCode", "message", "fields"}`. With `allOrNone`, one failure rolls every record back and the
others answer ALL_OR_NONE_OPERATION_ROLLED_BACK. A body Salesforce cannot deserialize (an unknown field, a value of
the wrong type, a record without `attributes.type`) fails the whole call with 400.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response

from crossdock.sandbox.salesforce.dml import Writer, parse_record
from crossdock.sandbox.salesforce.errors import RecordError, SalesforceError
from crossdock.sandbox.salesforce.ids import to18
from crossdock.sandbox.salesforce.org import Org
from crossdock.sandbox.salesforce.routes_sobjects import projection_for
from crossdock.sandbox.salesforce.schema import ObjectSpec
from crossdock.sandbox.salesforce.web import bad_request, call_of, object_spec, org_of, read_json, sf_json

router = APIRouter(prefix="/services/data/v{version}")
MAX_RECORDS = 200
MAX_RETRIEVE = 2000
_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}
_TOO_MANY = "record limit reached. cannot submit more than 200 records into this call"


@dataclass(frozen=True, slots=True)
class RecordOperation:
    """One record's part of a collection call: what to run, or the error it already has."""

    run: Callable[[Writer], tuple[str, bool]] | None = None  # returns (id, created)
    failure_id: str | None = None  # updates and deletes name their record in a failed result
    error: RecordError | None = None


def _too_many() -> SalesforceError:
    return bad_request("EXCEEDED_ID_LIMIT", _TOO_MANY)


async def _collection(request: Request) -> tuple[list[Any], bool]:
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise bad_request("JSON_PARSER_ERROR", 'The request body must be an object with a "records" list')
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise _too_many()
    return records, bool(body.get("allOrNone", False))


def _typed(org: Org, record: Any) -> tuple[ObjectSpec, dict[str, Any]]:
    if not isinstance(record, dict):
        raise bad_request("JSON_PARSER_ERROR", "Each record must be a JSON object")
    attributes = record.get("attributes")
    type_name = attributes.get("type") if isinstance(attributes, dict) else None
    if not type_name:
        raise bad_request("INVALID_TYPE", "Must send a concrete entity type.")
    spec = org.schema.get(str(type_name))
    if spec is None:
        raise bad_request("INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
    return spec, record


def _apply(request: Request, operations: list[RecordOperation], all_or_none: bool, *, upsert: bool = False) -> Response:
    """Run one operation per record in one unit of work and answer each; commit unless allOrNone failed."""
    transaction = org_of(request).transaction(call_of(request).actor)
    results: list[dict[str, Any]] = []
    created_flags: list[bool] = []
    failed = False
    for operation in operations:
        mark = transaction.unit.mark()
        result: dict[str, Any]
        created = False
        try:
            if operation.error is not None or operation.run is None:
                raise operation.error or RecordError("UNKNOWN_EXCEPTION", "nothing to do")
            record_id, created = operation.run(transaction.writer)
            result = {"id": record_id, "success": True, "errors": []}
        except RecordError as error:
            transaction.unit.rollback(mark)
            failed = True
            result = {"success": False, "errors": [error.as_result_error()]}
            if operation.failure_id:
                result = {"id": operation.failure_id, **result}
        except BaseException:
            transaction.discard()
            raise
        if upsert:
            result["created"] = created
        results.append(result)
        created_flags.append(created)
    if failed and all_or_none:
        transaction.discard()
        for result, created in zip(results, created_flags, strict=True):
            if result["success"]:
                # A record created and then rolled back never existed, so its result carries no id.
                if created:
                    result.pop("id", None)
                result.update(success=False, errors=[_ROLLED_BACK])
                if upsert:
                    result["created"] = False
    else:
        transaction.commit()
    return sf_json(results)


@router.post("/composite/sobjects")
async def create_records(request: Request) -> Response:
    """Create up to 200 records of any types."""
    org = org_of(request)
    records, all_or_none = await _collection(request)
    parsed = [
        (spec, parse_record(spec, body, org.schema)) for spec, body in (_typed(org, record) for record in records)
    ]

    def creating(spec: ObjectSpec, values: dict[str, Any]) -> RecordOperation:
        return RecordOperation(run=lambda writer: (writer.create(spec, values), True))

    return _apply(request, [creating(spec, values) for spec, values in parsed], all_or_none)


@router.patch("/composite/sobjects")
async def update_records(request: Request) -> Response:
    """Update up to 200 records of any types by their `Id`."""
    org = org_of(request)
    records, all_or_none = await _collection(request)
    parsed = [
        (spec, parse_record(spec, body, org.schema)) for spec, body in (_typed(org, record) for record in records)
    ]

    def updating(spec: ObjectSpec, values: dict[str, Any]) -> RecordOperation:
        record_id = values.get("Id")
        if not record_id:
            return RecordOperation(error=RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"]))
        return RecordOperation(
            run=lambda writer: (writer.update(spec, record_id, values), False), failure_id=to18(record_id)
        )

    return _apply(request, [updating(spec, values) for spec, values in parsed], all_or_none)


@router.patch("/composite/sobjects/{sobject}/{field}")
async def upsert_records(request: Request, sobject: str, field: str) -> Response:
    """Upsert up to 200 records of one type by an external id field; each result says whether it was created."""
    org = org_of(request)
    spec = object_spec(org, sobject)
    field_spec = spec.field(field)
    if field_spec is None or not field_spec.external_id:
        raise bad_request(
            "INVALID_FIELD", f"Field name provided, {field} is not an External ID or indexed field for {spec.name}"
        )
    records, all_or_none = await _collection(request)
    parsed = []
    for record in records:
        record_spec, body = _typed(org, record)
        if record_spec is not spec:
            raise bad_request("INVALID_TYPE", f"Each record must be of type {spec.name}, not {record_spec.name}")
        parsed.append(parse_record(spec, body, org.schema))
    key_name = field_spec.name
    counts = Counter(str(values.get(key_name) or "").lower() for values in parsed)

    def upserting(values: dict[str, Any]) -> RecordOperation:
        key = values.get(key_name)
        if key and counts[str(key).lower()] > 1:
            # The same key twice in one call would make the result depend on order, so Salesforce refuses both.
            return RecordOperation(
                error=RecordError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {key}", [key_name])
            )
        return RecordOperation(run=lambda writer: writer.upsert(spec, key_name, key, values))

    return _apply(request, [upserting(values) for values in parsed], all_or_none, upsert=True)


@router.delete("/composite/sobjects")
async def delete_records(request: Request) -> Response:
    """Delete up to 200 records by `ids=` (comma-separated); `allOrNone=true` in the query string."""
    ids = [value for value in request.query_params.get("ids", "").split(",") if value]
    if len(ids) > MAX_RECORDS:
        raise _too_many()
    all_or_none = request.query_params.get("allOrNone", "false").lower() == "true"

    def deleting(raw_id: str) -> RecordOperation:
        return RecordOperation(run=lambda writer: (writer.delete(None, raw_id), False), failure_id=to18(raw_id))

    return _apply(request, [deleting(raw_id) for raw_id in ids], all_or_none)


def _retrieve(request: Request, sobject: str, ids: list[str], fields: str) -> Response:
    org = org_of(request)
    spec = object_spec(org, sobject)
    if not fields:
        raise bad_request("MISSING_ARGUMENT", "fields parameter is required")
    if len(ids) > MAX_RETRIEVE:
        raise _too_many()
    projection = projection_for(org, spec, fields)
    version = request.path_params["version"]
    results: list[Any] = []
    for raw_id in ids:
        record_id = to18(raw_id)
        record = org.view().get(record_id) if record_id and org.schema.for_id(record_id) is spec else None
        if record is None or record.get("IsDeleted"):
            results.append(None)
        else:
            results.append(org.queries.render(projection, [record], version)[0])
    return sf_json(results)


@router.get("/composite/sobjects/{sobject}")
async def retrieve_records(request: Request, sobject: str) -> Response:
    """Records of one type by `ids=`, with `fields=`; null for ids that do not resolve."""
    ids = [value for value in request.query_params.get("ids", "").split(",") if value]
    return _retrieve(request, sobject, ids, request.query_params.get("fields", ""))


@router.post("/composite/sobjects/{sobject}")
async def retrieve_records_by_body(request: Request, sobject: str) -> Response:
    """Like the GET, with `{"ids": [...], "fields": [...]}` in the body (up to 2000 ids)."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise bad_request("JSON_PARSER_ERROR", 'The request body must be an object with "ids" and "fields"')
    ids = [str(value) for value in body.get("ids") or []]
    return _retrieve(request, sobject, ids, ",".join(str(value) for value in body.get("fields") or []))
