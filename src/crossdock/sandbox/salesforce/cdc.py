"""Change Data Capture: one change event per record change, shaped like the CometD JSON Salesforce delivers.

Events are appended in the same SQLite transaction as the records they describe and kept 72 hours. Replay ids
increase across the whole org, so one number resumes any channel. `/data/ChangeEvents` carries every entity,
`/data/<Object>ChangeEvent` one. The sandbox serves them over a long-poll endpoint (see `routes_sandbox`) instead of
CometD or gRPC, with the same event JSON.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import uuid
from typing import Any

from crossdock.sandbox.salesforce.schema import ObjectSpec, Schema
from crossdock.sandbox.salesforce.unit import Change, Record, Unit
from crossdock.sandbox.salesforce.values import cdc_datetime

# Fields a change event never carries: the id is in the header, the rest are bookkeeping.
_SKIPPED = frozenset({"Id", "SystemModstamp", "IsDeleted"})


@functools.cache
def schema_id(entity: str) -> str:
    """A stable 22-character schema id per entity, like the ids of CometD event schemas."""
    digest = hashlib.sha256(f"crossdock-sandbox:{entity}ChangeEvent".encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def channel_entities(channel: str, schema: Schema) -> list[str] | None:
    """Entities of a channel (`/data/ChangeEvents` -> None for all); raises KeyError for an unknown channel."""
    name = channel.strip("/")
    if name == "data/ChangeEvents":
        return None
    if name.startswith("data/") and name.endswith("ChangeEvent"):
        spec = schema.get(name[len("data/") : -len("ChangeEvent")])
        if spec is not None and name == f"data/{spec.name}ChangeEvent":
            return [spec.name]
    raise KeyError(channel)


class ChangeEventBuilder:
    """Turns a unit's changes into change events for one commit (one transaction key, numbered in order)."""

    def __init__(self, schema: Schema, user_id: str, change_origin: str) -> None:
        self.schema = schema
        self.user_id = user_id
        self.change_origin = change_origin

    def __call__(self, unit: Unit, commit_number: int, committed_ms: int) -> list[tuple[str, dict[str, Any]]]:
        """(entity, event data without replay id) for each change, in the order they were made."""
        transaction_key = str(uuid.uuid4())
        events = []
        for sequence, change in enumerate(unit.changes, start=1):
            spec = self.schema.objects[change.sobject]
            payload, changed, nulled = _payload(spec, change)
            header = {
                "entityName": change.sobject,
                "recordIds": [change.record_id],
                "changeType": change.change_type,
                "changeOrigin": self.change_origin,
                "transactionKey": transaction_key,
                "sequenceNumber": sequence,
                "commitTimestamp": committed_ms,
                "commitNumber": commit_number,
                "commitUser": change.after.get("LastModifiedById") or self.user_id,
                "nulledFields": nulled,
                "diffFields": [],
                "changedFields": changed,
            }
            data = {"schema": schema_id(change.sobject), "payload": {"ChangeEventHeader": header, **payload}}
            events.append((change.sobject, data))
        return events


def _payload(spec: ObjectSpec, change: Change) -> tuple[dict[str, Any], list[str], list[str]]:
    """Body fields, changedFields and nulledFields of one change."""
    if change.change_type == "DELETE":
        return {}, [], []
    after, before = change.after, change.before
    if change.change_type in {"CREATE", "UNDELETE"} or before is None:
        # Creates and undeletes carry every field that has a value; changedFields stays empty.
        names = [name for name in spec.fields if after.get(name) is not None]
        return _fields(spec, after, names), [], []
    # Records are sparse dicts, so the changed fields are found among the keys either version has.
    names = [name for name, value in after.items() if value != before.get(name) or name == "LastModifiedDate"]
    names += [name for name, value in before.items() if name not in after and value is not None]
    changed = []
    nulled = []
    for name in names:
        field_spec = spec.fields[name]
        if name in _SKIPPED or name in spec.compounds:
            continue
        path = f"{field_spec.compound[0]}.{field_spec.compound[1]}" if field_spec.compound else name
        changed.append(path)
        if after.get(name) is None:
            nulled.append(path)
    return _fields(spec, after, names), changed, nulled


def _fields(spec: ObjectSpec, record: Record, names: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name in names:
        if name in _SKIPPED or name in spec.compounds:
            continue
        field_spec = spec.fields[name]
        value = record.get(name)
        if field_spec.type == "datetime" and isinstance(value, str):
            value = cdc_datetime(value)
        if field_spec.compound:
            body.setdefault(field_spec.compound[0], {})[field_spec.compound[1]] = value
        else:
            body[name] = value
    return body
