"""sObject rows: create, read, update and delete by id, and read, upsert and delete by external id."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from crossdock.sandbox.salesforce.dml import parse_record
from crossdock.sandbox.salesforce.errors import RecordError, SalesforceError, not_found
from crossdock.sandbox.salesforce.ids import to18
from crossdock.sandbox.salesforce.org import Org, OrgTransaction
from crossdock.sandbox.salesforce.query import Projection
from crossdock.sandbox.salesforce.schema import ObjectSpec
from crossdock.sandbox.salesforce.soql_ast import FieldRef, SoqlError
from crossdock.sandbox.salesforce.unit import Record
from crossdock.sandbox.salesforce.web import (
    call_of,
    object_spec,
    org_of,
    read_json,
    require_object,
    sf_json,
    version_at_least,
)

router = APIRouter(prefix="/services/data/v{version}")
_NO_EXTERNAL_FIELD = "Provided external ID field does not exist or is not accessible: {}"


def _record_error(error: RecordError) -> SalesforceError:
    # Single-record calls answer a missing or deleted record with 404, other save errors with 400.
    if error.status_code == "INVALID_CROSS_REFERENCE_KEY" and not error.fields:
        return not_found()
    if error.status_code == "ENTITY_IS_DELETED" and not error.fields:
        return SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
    return error.as_request_error()


def _run(transaction: OrgTransaction, operation: str, *args: object) -> str | tuple[str, bool]:
    """Run one write and commit it, or undo it and answer the error."""
    writer = transaction.writer
    try:
        result: str | tuple[str, bool] = getattr(writer, operation)(*args)
    except RecordError as error:
        transaction.discard()
        raise _record_error(error) from None
    except BaseException:
        transaction.discard()
        raise
    transaction.commit()
    return result


def projection_for(org: Org, spec: ObjectSpec, fields: str | None) -> Projection:
    """The fields to return for a record: those named in `fields` (comma-separated), or all of them."""
    projection = Projection(spec)
    names = [name.strip() for name in fields.split(",") if name.strip()] if fields else list(spec.fields)
    for name in names:
        try:
            org.queries.add_field(projection, FieldRef(name))
        except SoqlError as error:
            raise SalesforceError(400, error.error_code, error.message) from None
    return projection


def _render(request: Request, org: Org, spec: ObjectSpec, record: Record) -> Response:
    projection = projection_for(org, spec, request.query_params.get("fields"))
    return sf_json(org.queries.render(projection, [record], request.path_params["version"])[0])


def _find(org: Org, spec: ObjectSpec, record_id: str) -> Record:
    normalized = to18(record_id)
    if normalized is None:
        raise not_found(_NO_EXTERNAL_FIELD.format(record_id))
    record = org.view().get(normalized) if org.schema.for_id(normalized) is spec else None
    if record is None:
        raise not_found()
    if record.get("IsDeleted"):
        raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
    return record


def _external_field(spec: ObjectSpec, name: str) -> str:
    field_spec = spec.field(name)
    if field_spec is None or not (field_spec.external_id or field_spec.name == "Id"):
        raise not_found(_NO_EXTERNAL_FIELD.format(name))
    return field_spec.name


@router.post("/sobjects/{sobject}")
@router.post("/sobjects/{sobject}/")
async def create(request: Request, sobject: str) -> Response:
    """Create a record: 201 `{"id", "success": true, "errors": []}`."""
    org, call = org_of(request), call_of(request)
    spec = object_spec(org, sobject)
    values = parse_record(spec, require_object(await read_json(request)), org.schema)
    record_id = _run(org.transaction(call.actor), "create", spec, values)
    return sf_json({"id": record_id, "success": True, "errors": []}, 201)


@router.get("/sobjects/{sobject}/{record_id}")
async def read(request: Request, sobject: str, record_id: str) -> Response:
    """A record by id, with all fields or the `fields=` asked for."""
    org = org_of(request)
    spec = object_spec(org, sobject)
    return _render(request, org, spec, _find(org, spec, record_id))


@router.patch("/sobjects/{sobject}/{record_id}")
async def update(request: Request, sobject: str, record_id: str) -> Response:
    """Update a record by id: 204."""
    org, call = org_of(request), call_of(request)
    spec = object_spec(org, sobject)
    values = parse_record(spec, require_object(await read_json(request)), org.schema)
    _find(org, spec, record_id)
    _run(org.transaction(call.actor), "update", spec, record_id, values)
    return Response(status_code=204)


@router.delete("/sobjects/{sobject}/{record_id}")
async def delete(request: Request, sobject: str, record_id: str) -> Response:
    """Delete a record by id (to the recycle bin): 204."""
    org, call = org_of(request), call_of(request)
    spec = object_spec(org, sobject)
    _find(org, spec, record_id)
    _run(org.transaction(call.actor), "delete", spec, record_id)
    return Response(status_code=204)


@router.get("/sobjects/{sobject}/{field}/{value}")
async def read_by_external_id(request: Request, sobject: str, field: str, value: str) -> Response:
    """A record by external id."""
    org = org_of(request)
    spec = object_spec(org, sobject)
    field_name = _external_field(spec, field)
    if field_name == "Id":
        return _render(request, org, spec, _find(org, spec, value))
    record = org.view().find_external(spec.name, field_name, value)
    if record is None:
        raise not_found()
    return _render(request, org, spec, record)


@router.patch("/sobjects/{sobject}/{field}/{value}")
async def upsert(request: Request, sobject: str, field: str, value: str) -> Response:
    """Upsert by external id: 201 with `created: true`; an update answers 200 with `created: false` from v46.0
    (204 before); `?updateOnly=true` answers 404 instead of creating."""
    org, call = org_of(request), call_of(request)
    spec = object_spec(org, sobject)
    field_name = _external_field(spec, field)
    values = parse_record(spec, require_object(await read_json(request)), org.schema)
    transaction = org.transaction(call.actor)
    if field_name == "Id":
        _find(org, spec, value)
        record_id, created = str(_run(transaction, "update", spec, value, values)), False
    else:
        if request.query_params.get("updateOnly", "").lower() == "true" and (
            transaction.unit.find_external(spec.name, field_name, value) is None
        ):
            raise not_found()
        result = _run(transaction, "upsert", spec, field_name, value, values)
        record_id, created = result if isinstance(result, tuple) else (result, False)
    body = {"id": record_id, "success": True, "errors": [], "created": created}
    if created:
        return sf_json(body, 201)
    if version_at_least(call.version, 46.0):
        return sf_json(body, 200)
    return Response(status_code=204)


@router.delete("/sobjects/{sobject}/{field}/{value}")
async def delete_by_external_id(request: Request, sobject: str, field: str, value: str) -> Response:
    """Delete a record by external id: 204."""
    org, call = org_of(request), call_of(request)
    spec = object_spec(org, sobject)
    field_name = _external_field(spec, field)
    record = _find(org, spec, value) if field_name == "Id" else org.view().find_external(spec.name, field_name, value)
    if record is None:
        raise not_found()
    _run(org.transaction(call.actor), "delete", spec, record["Id"])
    return Response(status_code=204)
