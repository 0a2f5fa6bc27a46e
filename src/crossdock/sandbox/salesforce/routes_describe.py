"""Metadata and replication: resources, limits, describeGlobal, describe, and the updated/deleted id lists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from crossdock.sandbox.salesforce.errors import SalesforceError
from crossdock.sandbox.salesforce.schema import FieldSpec, ObjectSpec
from crossdock.sandbox.salesforce.values import parse_datetime, sf_datetime
from crossdock.sandbox.salesforce.web import object_spec, org_of, sf_json

router = APIRouter(prefix="/services/data/v{version}")
_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "address": "urn:address",
}
# How far back the replication calls reach, as in Salesforce.
UPDATED_WINDOW = timedelta(days=30)
DELETED_WINDOW = timedelta(days=15)


def _urls(spec: ObjectSpec, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{spec.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def _object_summary(spec: ObjectSpec, version: str) -> dict[str, Any]:
    return {
        "name": spec.name,
        "label": spec.label,
        "labelPlural": spec.plural,
        "keyPrefix": spec.key_prefix,
        "custom": False,
        "createable": spec.createable,
        "updateable": spec.updateable,
        "deletable": spec.deletable,
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "undeletable": True,
        "replicateable": True,
        "urls": _urls(spec, version),
    }


def _field(spec: FieldSpec) -> dict[str, Any]:
    system = not spec.createable and not spec.updateable
    return {
        "name": spec.name,
        "label": spec.label,
        "type": spec.type,
        "length": spec.length,
        "custom": spec.custom,
        "nillable": not spec.required and spec.type != "boolean",
        "createable": spec.createable,
        "updateable": spec.updateable,
        "externalId": spec.external_id,
        "unique": spec.unique,
        "idLookup": spec.external_id or spec.name == "Id",
        "nameField": spec.name == "Name",
        "calculated": False,
        "defaultedOnCreate": spec.default is not None or system or spec.type == "boolean",
        "filterable": spec.filterable,
        "sortable": spec.filterable,
        "groupable": spec.filterable,
        "referenceTo": [spec.reference_to] if spec.reference_to else [],
        "relationshipName": spec.relationship,
        "cascadeDelete": spec.on_delete == "cascade" and spec.reference_to is not None,
        "compoundFieldName": spec.compound[0] if spec.compound else None,
        "restrictedPicklist": spec.restricted,
        "picklistValues": [
            {"active": True, "defaultValue": value == spec.default, "label": value, "validFor": None, "value": value}
            for value in spec.values
        ],
        "defaultValue": spec.default,
        "precision": 18 if spec.type == "currency" else 0,
        "scale": 2 if spec.type == "currency" else 0,
        "soapType": _SOAP_TYPES.get(spec.type, "xsd:string"),
    }


@router.get("/")
@router.get("")
async def resources(version: str) -> Response:
    """The resources of an API version."""
    base = f"/services/data/v{version}"
    names = ["sobjects", "query", "queryAll", "composite", "limits"]
    return sf_json({name: f"{base}/{name}" for name in names})


@router.get("/limits")
@router.get("/limits/")
async def limits(request: Request) -> Response:
    """The org's limits; DailyApiRequests is the one the sandbox enforces."""
    org = org_of(request)
    return sf_json(
        {"DailyApiRequests": {"Max": org.daily_api_limit, "Remaining": max(org.daily_api_limit - org.api_usage(), 0)}}
    )


@router.get("/sobjects")
@router.get("/sobjects/")
async def describe_global(request: Request, version: str) -> Response:
    """Every object of the org."""
    org = org_of(request)
    objects = [_object_summary(spec, version) for spec in org.schema.objects.values()]
    return sf_json({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})


@router.get("/sobjects/{sobject}/describe")
@router.get("/sobjects/{sobject}/describe/")
async def describe(request: Request, sobject: str, version: str) -> Response:
    """An object's fields and child relationships."""
    org = org_of(request)
    spec = object_spec(org, sobject)
    children = [
        {
            "cascadeDelete": rel.on_delete == "cascade",
            "childSObject": rel.child,
            "field": rel.field,
            "relationshipName": rel.name,
        }
        for rel in org.schema.children[spec.name].values()
    ]
    body = _object_summary(spec, version) | {
        "fields": [_field(field_spec) for field_spec in spec.fields.values()],
        "childRelationships": children,
    }
    return sf_json(body)


def _window(request: Request, reach: timedelta) -> tuple[str, str]:
    """The [start, end) of a replication request, truncated to the minute as Salesforce does."""
    org = org_of(request)
    texts = {name: request.query_params.get(name) for name in ("start", "end")}
    moments = {}
    for name, text in texts.items():
        if not text:
            raise SalesforceError(400, "MISSING_ARGUMENT", f"{name} parameter is required (an ISO 8601 timestamp)")
        moment = parse_datetime(text, require_zone=True)
        if moment is None:
            raise SalesforceError(
                400,
                "INVALID_REPLICATION_DATE",
                f"{name} is not a valid ISO 8601 timestamp: {text} (a '+' in a URL must be sent as %2B)",
            )
        moments[name] = moment.replace(second=0, microsecond=0)
    now = org.clock().replace(second=0, microsecond=0)
    start, end = moments["start"], min(moments["end"], now)
    if moments["end"] < moments["start"]:
        raise SalesforceError(400, "INVALID_REPLICATION_DATE", "EndDate can not be before StartDate")
    if start < now - reach:
        raise SalesforceError(400, "INVALID_REPLICATION_DATE", f"startDate cannot be more than {reach.days} days ago")
    return sf_datetime(start), sf_datetime(end)


@router.get("/sobjects/{sobject}/updated")
@router.get("/sobjects/{sobject}/updated/")
async def updated(request: Request, sobject: str) -> Response:
    """Ids of records changed in [start, end), for replication."""
    org = org_of(request)
    spec = object_spec(org, sobject)
    start, end = _window(request, UPDATED_WINDOW)
    ids = [
        record_id
        for record_id, record in org.store.records[spec.name].items()
        if not record.get("IsDeleted") and start <= record["SystemModstamp"] < end
    ]
    return sf_json({"ids": ids, "latestDateCovered": end})


@router.get("/sobjects/{sobject}/deleted")
@router.get("/sobjects/{sobject}/deleted/")
async def deleted(request: Request, sobject: str) -> Response:
    """Records deleted in [start, end), with their deletion times, for replication."""
    org = org_of(request)
    spec = object_spec(org, sobject)
    start, end = _window(request, DELETED_WINDOW)
    records = [
        {"id": record_id, "deletedDate": record["SystemModstamp"]}
        for record_id, record in org.store.records[spec.name].items()
        if record.get("IsDeleted") and start <= record["SystemModstamp"] < end
    ]
    earliest = sf_datetime(org.clock().replace(second=0, microsecond=0) - DELETED_WINDOW)
    return sf_json({"deletedRecords": records, "earliestDateAvailable": earliest, "latestDateCovered": end})


@router.get("/sobjects/{sobject}")
@router.get("/sobjects/{sobject}/")
async def basic_info(request: Request, sobject: str, version: str) -> Response:
    """An object's summary (the describe without fields)."""
    spec = object_spec(org_of(request), sobject)
    return sf_json({"objectDescribe": _object_summary(spec, version), "recentItems": []})
