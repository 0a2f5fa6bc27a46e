"""Creates, updates, upserts, deletes and undeletes, validated and answered per record like Salesforce's DML.

Request-level problems (an unknown field, a value that is not JSON of the field's type) raise `SalesforceError`
before anything is written; per-record problems raise `RecordError`, which a collection call reports for that record
while the others go on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crossdock.sandbox.salesforce import rules
from crossdock.sandbox.salesforce.errors import RecordError, SalesforceError, json_parser_error
from crossdock.sandbox.salesforce.ids import to18
from crossdock.sandbox.salesforce.schema import STRING_TYPES, FieldSpec, ObjectSpec, Schema
from crossdock.sandbox.salesforce.store import Store
from crossdock.sandbox.salesforce.unit import Change, Record, Unit
from crossdock.sandbox.salesforce.values import coerce

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_NOT_WRITABLE = (
    "Unable to create/update fields: {fields}. Please check the security settings of this field and verify that it "
    "is read/write for your profile or permission set."
)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: the API user, the `changeOrigin` of its events, and the lock-row fault hook."""

    user_id: str
    change_origin: str
    lock_row: Callable[[], bool] = lambda: False


@dataclass(frozen=True, slots=True)
class ExternalReference:
    """A parent named by its external id in a record body: `"Account": {"Crossdock_Id__c": "C-1"}` sets AccountId."""

    sobject: str
    field: str
    value: str


def parse_record(spec: ObjectSpec, body: Mapping[str, Any], schema: Schema) -> dict[str, Any]:
    """A request body's fields by their API names, in stored form; unknown fields fail the whole request."""
    values: dict[str, Any] = {}
    for key, value in body.items():
        if key == "attributes":
            continue
        field_spec = spec.field(key)
        if field_spec is not None:
            values[field_spec.name] = coerce(field_spec, value)
            continue
        lookup = spec.parents.get(key.lower())
        if lookup is None or lookup.reference_to is None:
            raise SalesforceError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {spec.name}")
        values[lookup.name] = _external_reference(schema.objects[lookup.reference_to], key, value)
    return values


def _external_reference(target: ObjectSpec, key: str, value: Any) -> ExternalReference:
    if not isinstance(value, dict):
        raise json_parser_error(f"Cannot deserialize instance of {target.name} from a non-object value for {key}")
    names = [name for name in value if name != "attributes"]
    field_spec = target.field(names[0]) if len(names) == 1 else None
    if field_spec is None or not field_spec.external_id or value[names[0]] in (None, ""):
        raise SalesforceError(
            400,
            "INVALID_FIELD",
            f"{key}: a parent is named by exactly one external id field of "
            f"{target.name} ({', '.join(target.external_ids) or 'none'}) with a value",
        )
    return ExternalReference(target.name, field_spec.name, str(value[names[0]]))


class Writer:
    """Applies record changes to one unit of work on behalf of one actor."""

    def __init__(self, store: Store, unit: Unit, actor: Actor, now: str) -> None:
        self.store = store
        self.schema = store.schema
        self.unit = unit
        self.actor = actor
        self.now = now

    # -- operations ----------------------------------------------------------------------------------------------

    def create(self, spec: ObjectSpec, values: dict[str, Any]) -> str:
        """Insert a record; returns its id."""
        self._check_lock(None)
        values = self._resolve(values)
        if not spec.createable:
            raise RecordError("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be inserted: {spec.name}")
        if "Id" in values:
            message = f"{spec.label} ID: cannot specify Id in an insert call"
            raise RecordError("INVALID_FIELD_FOR_INSERT_UPDATE", message, ["Id"])
        self._check_writable(spec, values, "createable")
        record: Record = {}
        for name, field_spec in spec.fields.items():
            if field_spec.default is not None:
                record[name] = field_spec.default
            elif field_spec.type == "boolean":
                record[name] = False
        record.update(values)
        record_id = self.store.allocate_id(spec)
        user_id = self.actor.user_id
        record.update(
            Id=record_id, IsDeleted=False, CreatedDate=self.now, CreatedById=user_id, LastModifiedById=user_id
        )
        self._stamp(record)
        if "OwnerId" in spec.fields and not record.get("OwnerId"):
            record["OwnerId"] = self.actor.user_id
        self._validate(spec, record, values)
        rules.before_save(self, spec, record, None)
        self.unit.put(spec.name, record, Change(spec.name, "CREATE", record_id, None, record))
        rules.after_save(self, spec, record, None)
        return record_id

    def update(self, spec: ObjectSpec | None, raw_id: Any, values: dict[str, Any]) -> str:
        """Update a record by id; only the given fields change (and the system timestamps)."""
        record_id, spec, current = self._existing(spec, raw_id)
        self._check_lock(record_id)
        values = {name: value for name, value in self._resolve(values).items() if name != "Id"}
        self._check_writable(spec, values, "updateable")
        self.apply(spec, current, values)
        return record_id

    def apply(self, spec: ObjectSpec, current: Record, values: dict[str, Any], *, change: bool = True) -> Record:
        """Write `values` over a live record (also used by rules for roll-ups and by cascades)."""
        record = dict(current)
        record.update(values)
        if change:
            record["LastModifiedById"] = self.actor.user_id
        self._stamp(record)
        self._validate(spec, record, values)
        rules.before_save(self, spec, record, current)
        self.unit.put(spec.name, record, Change(spec.name, "UPDATE", record["Id"], current, record))
        rules.after_save(self, spec, record, current)
        return record

    def upsert(self, spec: ObjectSpec, field_name: str, key: Any, values: dict[str, Any]) -> tuple[str, bool]:
        """Update the record whose external id `field_name` is `key`, or create it; returns (id, created)."""
        if key is None or key == "":
            raise RecordError("MISSING_ARGUMENT", f"{field_name} not specified")
        key = str(key)
        given = values.get(field_name)
        if given is not None and str(given).lower() != key.lower():
            raise RecordError(
                "INVALID_FIELD",
                f"{field_name}: the value in the body ({given}) differs from the external id in the URL ({key})",
                [field_name],
            )
        existing = self.unit.find_external(spec.name, field_name, key)
        if existing is not None:
            return self.update(spec, existing["Id"], values), False
        return self.create(spec, {**values, field_name: key}), True

    def delete(self, spec: ObjectSpec | None, raw_id: Any) -> str:
        """Delete a record, cascading to its children as the schema declares; returns its id."""
        record_id, spec, current = self._existing(spec, raw_id)
        self._check_lock(record_id)
        if not spec.deletable:
            raise RecordError("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be deleted: {spec.name}")
        self._delete(spec, current)
        return record_id

    def _delete(self, spec: ObjectSpec, current: Record) -> None:
        record_id = current["Id"]
        for relationship in self.schema.children[spec.name].values():
            children = self.unit.children(relationship.child, relationship.field, record_id)
            if not children:
                continue
            if relationship.on_delete == "restrict":
                child_spec = self.schema.objects[relationship.child]
                names = ", ".join(
                    str(child.get("Name") or child.get("OrderNumber") or child["Id"]) for child in children
                )
                raise RecordError(
                    "DELETE_FAILED",
                    f"Your attempt to delete {current.get('Name') or record_id} could not be completed because it is "
                    f"associated with the following {child_spec.plural.lower()}.: {names}",
                )
        tombstone = dict(current, IsDeleted=True, LastModifiedById=self.actor.user_id)
        self._stamp(tombstone)
        self.unit.put(spec.name, tombstone, Change(spec.name, "DELETE", record_id, current, tombstone))
        for relationship in self.schema.children[spec.name].values():
            child_spec = self.schema.objects[relationship.child]
            for child in self.unit.children(relationship.child, relationship.field, record_id):
                if relationship.on_delete == "cascade":
                    self._delete(child_spec, child)
                elif relationship.on_delete == "clear":
                    self.apply(child_spec, child, {relationship.field: None})
        rules.after_delete(self, spec, current)

    def undelete(self, raw_id: Any) -> str:
        """Bring a deleted record back from the recycle bin."""
        record_id = to18(raw_id)
        spec = self.schema.for_id(record_id) if record_id else None
        current = self.unit.get(record_id) if record_id else None
        if record_id is None or spec is None or current is None:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        if not current.get("IsDeleted"):
            raise RecordError("UNDELETE_FAILED", "Entity is not in the recycle bin")
        record = dict(current, IsDeleted=False, LastModifiedById=self.actor.user_id)
        self._stamp(record)
        self._check_unique(spec, record)
        self.unit.put(spec.name, record, Change(spec.name, "UNDELETE", record_id, current, record))
        rules.after_save(self, spec, record, None)
        return record_id

    # -- checks --------------------------------------------------------------------------------------------------

    def _resolve(self, values: dict[str, Any]) -> dict[str, Any]:
        """Parents named by external id, looked up now: a missing parent is this record's error, not the call's."""
        if not any(isinstance(value, ExternalReference) for value in values.values()):
            return values
        resolved = dict(values)
        for name, value in values.items():
            if isinstance(value, ExternalReference):
                parent = self.unit.find_external(value.sobject, value.field, value.value)
                if parent is None:
                    raise RecordError(
                        "INVALID_FIELD",
                        f"Foreign key external ID: {value.value} not found for field "
                        f"{value.field} in entity {value.sobject}",
                    )
                resolved[name] = parent["Id"]
        return resolved

    def _existing(self, spec: ObjectSpec | None, raw_id: Any) -> tuple[str, ObjectSpec, Record]:
        # Ids this org issued are already canonical; only other spellings need normalising.
        known = self.unit.get(raw_id) if isinstance(raw_id, str) and len(raw_id) == 18 else None
        record_id = raw_id if known is not None and known["Id"] == raw_id else to18(raw_id)
        if record_id is None:
            raise RecordError("MALFORMED_ID", f"malformed id {raw_id}", ["Id"])
        actual = self.schema.for_id(record_id)
        if actual is None or (spec is not None and actual is not spec):
            label = spec.label if spec is not None else "Record"
            raise RecordError("MALFORMED_ID", f"{label} ID: id value of incorrect type: {raw_id}", ["Id"])
        current = self.unit.get(record_id)
        if current is None:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        if current.get("IsDeleted"):
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
        return record_id, actual, current

    def _check_lock(self, record_id: str | None) -> None:
        if self.actor.lock_row():
            suffix = f" or 1 records: {record_id}" if record_id else ""
            raise RecordError("UNABLE_TO_LOCK_ROW", f"unable to obtain exclusive access to this record{suffix}")

    def _stamp(self, record: Record) -> None:
        record["LastModifiedDate"] = self.now
        record["SystemModstamp"] = self.now

    @staticmethod
    def _check_writable(spec: ObjectSpec, values: Mapping[str, Any], permission: str) -> None:
        if not spec.updateable and permission == "updateable":
            raise RecordError("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be updated: {spec.name}")
        refused = [name for name in values if not getattr(spec.fields[name], permission)]
        if refused:
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE", _NOT_WRITABLE.format(fields=", ".join(refused)), refused
            )

    def _validate(self, spec: ObjectSpec, record: Record, written: Mapping[str, Any]) -> None:
        missing = [name for name in spec.required if record.get(name) in (None, "")]
        if missing:
            raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        for name, value in written.items():
            if value is not None:
                self._check_value(spec.fields[name], value, record)
        self._check_unique(spec, record)

    def _check_value(self, field_spec: FieldSpec, value: Any, record: Record) -> None:
        name, label = field_spec.name, field_spec.label
        if field_spec.type in STRING_TYPES and field_spec.length and len(value) > field_spec.length:
            raise RecordError(
                "STRING_TOO_LONG",
                f"{label}: data value too large: {value[:255]} (max length={field_spec.length})",
                [name],
            )
        if field_spec.restricted and value not in field_spec.values:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{label}: bad value for restricted picklist field: {value}",
                [name],
            )
        if field_spec.type == "email" and not _EMAIL.fullmatch(value):
            raise RecordError("INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {value}", [name])
        if field_spec.type == "reference":
            record[name] = self._check_reference(field_spec, value)

    def _check_reference(self, field_spec: FieldSpec, value: str) -> str:
        target_id = to18(value)
        name, label = field_spec.name, field_spec.label
        if target_id is None:
            raise RecordError("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", [name])
        target_spec = self.schema.for_id(target_id)
        if target_spec is None or target_spec.name != field_spec.reference_to:
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", f"{label}: id value of incorrect type: {value}", [name])
        target = self.unit.get(target_id)
        if target is None:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name])
        if target.get("IsDeleted"):
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [name])
        return target_id

    def _check_unique(self, spec: ObjectSpec, record: Record) -> None:
        for name in spec.external_ids:
            value = record.get(name)
            if not value:
                continue
            holder = self.unit.find_external(spec.name, name, str(value))
            if holder is not None and holder["Id"] != record["Id"]:
                raise RecordError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {name} duplicates value on record with id: {holder['Id']}",
                    [name],
                )
