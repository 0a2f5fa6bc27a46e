"""SOQL against the org: check a parsed query against the schema, evaluate it in memory, page the results.

Results are paged like Salesforce's query locators: the first page comes back with `nextRecordsUrl`
(`/services/data/vXX.X/query/<locator>-<offset>`) while more rows remain; the rest are a snapshot taken when the
query ran, kept for 15 minutes after their last use.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crossdock.sandbox.salesforce.errors import SalesforceError
from crossdock.sandbox.salesforce.ids import random_id
from crossdock.sandbox.salesforce.query_filters import category, compile_matcher
from crossdock.sandbox.salesforce.schema import FieldSpec, ObjectSpec
from crossdock.sandbox.salesforce.soql import parse
from crossdock.sandbox.salesforce.soql_ast import (
    And,
    Comparison,
    Condition,
    CountAll,
    FieldRef,
    InList,
    Literal,
    Not,
    OrderItem,
    SoqlError,
    SubQuery,
)
from crossdock.sandbox.salesforce.store import Store
from crossdock.sandbox.salesforce.unit import Record, RecordSource

Predicate = Callable[[Record], bool]
Getter = Callable[[Record], Any]
CURSOR_TTL_S = 15 * 60
_MAX_CURSORS = 200
_HINT_FIELD = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
_HINT_RELATIONSHIP = (
    "If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship "
    "name. Please reference your WSDL or the describe call for the appropriate names."
)


def address_value(spec: ObjectSpec, name: str, record: Record) -> dict[str, Any] | None:
    """A compound address (`BillingAddress`) as the REST API returns it, or None when it is empty."""
    parts = {
        spec.fields[component].compound[1]: record.get(component)  # type: ignore[index]
        for component in spec.compounds.get(name, ())
    }
    if all(value is None for value in parts.values()):
        return None
    return {
        "city": parts.get("City"),
        "country": parts.get("Country"),
        "geocodeAccuracy": None,
        "latitude": None,
        "longitude": None,
        "postalCode": parts.get("PostalCode"),
        "state": parts.get("State"),
        "street": parts.get("Street"),
    }


@dataclass
class Projection:
    """What to return for each record of one object: fields, parents (nested) and child subqueries, in order."""

    spec: ObjectSpec
    entries: list[FieldSpec | ParentPlan | ChildPlan] = field(default_factory=list)
    names: set[str] = field(default_factory=set)


@dataclass
class ParentPlan:
    """A parent relationship in the SELECT list (`Account.Name`), rendered as a nested record."""

    lookup: FieldSpec
    projection: Projection


@dataclass
class ChildPlan:
    """A compiled child subquery."""

    name: str
    spec: ObjectSpec
    parent_field: str
    projection: Projection
    where: Predicate | None
    order: list[tuple[Getter, bool, bool]]
    limit: int | None


@dataclass
class Cursor:
    """The rows of a query beyond its first page."""

    rows: list[Record]
    projection: Projection
    batch_size: int
    resource: str
    touched: float


class QueryEngine:
    """Runs SOQL for one org: compile, evaluate, render and page."""

    def __init__(self, store: Store, view: Callable[[], RecordSource] | None = None) -> None:
        self.store = store
        self.schema = store.schema
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        # Inside a composite request, reads must see the request's own staged writes.
        self._view: Callable[[], RecordSource] = view or (lambda: store)

    # -- entry points --------------------------------------------------------------------------------------------

    def run(self, text: str, *, version: str, batch_size: int, include_deleted: bool, resource: str) -> dict[str, Any]:
        """The first page of a query's results (`resource` is `query` or `queryAll`, for `nextRecordsUrl`)."""
        if not text.strip():
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            return self._run(text, version, batch_size, include_deleted, resource)
        except SoqlError as error:
            raise _located(text, error) from None

    def more(self, locator: str, *, version: str) -> dict[str, Any]:
        """A later page, for `GET query/<locator>-<offset>`."""
        self._expire()
        key, _, offset_text = locator.rpartition("-")
        cursor = self.cursors.get(key)
        if cursor is None or not offset_text.isdigit() or int(offset_text) > len(cursor.rows):
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.touched = time.monotonic()
        self.cursors.move_to_end(key)
        return self._page(key, cursor, int(offset_text), version)

    # -- compile and evaluate ------------------------------------------------------------------------------------

    def _run(self, text: str, version: str, batch_size: int, include_deleted: bool, resource: str) -> dict[str, Any]:
        query = parse(text)
        spec = self.schema.get(query.sobject)
        if spec is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"sObject type '{query.sobject}' is not supported. If you are attempting "
                "to use a custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                query.sobject_pos,
            )
        counting = any(isinstance(item, CountAll) for item in query.select)
        if counting and len(query.select) > 1:
            raise SoqlError("MALFORMED_QUERY", "COUNT() cannot be combined with other fields", query.select[1].pos)
        projection = Projection(spec)
        for item in query.select:
            if isinstance(item, SubQuery):
                self._add_child(projection, item)
            elif isinstance(item, FieldRef):
                self.add_field(projection, item)
        where = self._predicate(spec, query.where) if query.where is not None else None
        order = [self._order_key(spec, item) for item in query.order_by]
        if query.offset is not None and query.offset > 2000:
            raise SalesforceError(400, "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
        rows = [
            record
            for record in self._view().rows(spec.name)
            if (include_deleted or not record.get("IsDeleted")) and (where is None or where(record))
        ]
        _sort(rows, order)
        if query.offset:
            rows = rows[query.offset :]
        if query.limit is not None:
            rows = rows[: query.limit]
        if counting:
            return {"totalSize": len(rows), "done": True, "records": []}
        key = random_id("01g")[:15]
        cursor = Cursor(rows, projection, batch_size, resource, time.monotonic())
        if len(rows) > batch_size:
            self._expire()
            self.cursors[key] = cursor
            while len(self.cursors) > _MAX_CURSORS:
                self.cursors.popitem(last=False)
        return self._page(key, cursor, 0, version)

    def _resolve(self, spec: ObjectSpec, ref: FieldRef) -> tuple[list[FieldSpec], FieldSpec, ObjectSpec]:
        parts = ref.path.split(".")
        # `Contact.Name` in a query on Contact names the object itself.
        if len(parts) > 1 and parts[0].lower() == spec.name.lower() and parts[0].lower() not in spec.parents:
            parts = parts[1:]
        chain = []
        for part in parts[:-1]:
            parent = spec.parents.get(part.lower())
            if parent is None or parent.reference_to is None:
                raise SoqlError(
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{part}' in field path. {_HINT_RELATIONSHIP}",
                    ref.pos,
                )
            chain.append(parent)
            spec = self.schema.objects[parent.reference_to]
        final = spec.field(parts[-1])
        if final is None:
            raise SoqlError(
                "INVALID_FIELD", f"No such column '{parts[-1]}' on entity '{spec.name}'. {_HINT_FIELD}", ref.pos
            )
        return chain, final, spec

    def _getter(self, spec: ObjectSpec, ref: FieldRef) -> tuple[Getter, FieldSpec]:
        chain, final, owner = self._resolve(spec, ref)
        name = final.name
        if final.type == "address":

            def base(record: Record) -> Any:
                return address_value(owner, name, record)
        else:

            def base(record: Record) -> Any:
                return record.get(name)

        if not chain:
            return base, final
        view = self._view

        def through_parents(record: Record) -> Any:
            current: Record | None = record
            for parent in chain:
                parent_id = current.get(parent.name) if current is not None else None
                current = view().get(parent_id) if parent_id else None
                if current is None:
                    return None
            return base(current) if current is not None else None

        return through_parents, final

    def add_field(self, projection: Projection, ref: FieldRef) -> None:
        """Add a selected field (through parents, if it names them) to a projection."""
        chain, final, _ = self._resolve(projection.spec, ref)
        node = projection
        for lookup in chain:
            existing = next(
                (entry for entry in node.entries if isinstance(entry, ParentPlan) and entry.lookup is lookup), None
            )
            if existing is None:
                existing = ParentPlan(lookup, Projection(self.schema.objects[lookup.reference_to or ""]))
                node.entries.append(existing)
            node = existing.projection
        if final.name in node.names:
            raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {ref.path}", ref.pos)
        node.names.add(final.name)
        node.entries.append(final)

    def _add_child(self, projection: Projection, sub: SubQuery) -> None:
        relationship = self.schema.child(projection.spec.name, sub.relationship)
        if relationship is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"Didn't understand relationship '{sub.relationship}' in FROM part of query call. {_HINT_RELATIONSHIP}",
                sub.pos,
            )
        child_spec = self.schema.objects[relationship.child]
        child_projection = Projection(child_spec)
        for ref in sub.fields:
            self.add_field(child_projection, ref)
        where = self._predicate(child_spec, sub.where) if sub.where is not None else None
        order = [self._order_key(child_spec, item) for item in sub.order_by]
        plan = ChildPlan(relationship.name, child_spec, relationship.field, child_projection, where, order, sub.limit)
        projection.entries.append(plan)

    def _order_key(self, spec: ObjectSpec, item: OrderItem) -> tuple[Getter, bool, bool]:
        getter, final = self._getter(spec, item.field)
        if not final.filterable:
            raise SoqlError("INVALID_FIELD", f"field '{final.name}' can not be sorted in a query call", item.field.pos)
        nulls_last = item.descending if item.nulls_last is None else item.nulls_last
        if category(final) == "string":

            def folded(record: Record) -> Any:
                value = getter(record)
                return value.casefold() if isinstance(value, str) else value

            return folded, item.descending, nulls_last
        return getter, item.descending, nulls_last

    def _predicate(self, spec: ObjectSpec, condition: Condition) -> Predicate:
        if isinstance(condition, And):
            parts = [self._predicate(spec, item) for item in condition.items]
            return lambda record: all(part(record) for part in parts)
        if isinstance(condition, Not):
            inner = self._predicate(spec, condition.item)
            return lambda record: not inner(record)
        if isinstance(condition, InList):
            getter, final = self._filter_getter(spec, condition.field)
            matchers = [self._matcher(final, "=", literal) for literal in condition.values]
            if condition.negated:
                return lambda record: not any(match(getter(record)) for match in matchers)
            return lambda record: any(match(getter(record)) for match in matchers)
        if isinstance(condition, Comparison):
            getter, final = self._filter_getter(spec, condition.field)
            match = self._matcher(final, condition.op, condition.value)
            return lambda record: match(getter(record))
        parts = [self._predicate(spec, item) for item in condition.items]
        return lambda record: any(part(record) for part in parts)

    def _filter_getter(self, spec: ObjectSpec, ref: FieldRef) -> tuple[Getter, FieldSpec]:
        getter, final = self._getter(spec, ref)
        if not final.filterable:
            raise SoqlError("INVALID_FIELD", f"field '{final.name}' can not be filtered in a query call", ref.pos)
        return getter, final

    def _matcher(self, spec: FieldSpec, op: str, literal: Literal) -> Callable[[Any], bool]:
        return compile_matcher(spec, op, literal, self.store.clock().date())

    # -- render --------------------------------------------------------------------------------------------------

    def _page(self, key: str, cursor: Cursor, offset: int, version: str) -> dict[str, Any]:
        rows = cursor.rows[offset : offset + cursor.batch_size]
        done = offset + len(rows) >= len(cursor.rows)
        body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": done}
        if not done:
            body["nextRecordsUrl"] = f"/services/data/v{version}/{cursor.resource}/{key}-{offset + cursor.batch_size}"
        body["records"] = self.render(cursor.projection, rows, version)
        return body

    def render(self, projection: Projection, rows: list[Record], version: str) -> list[dict[str, Any]]:
        """Records as the query resource returns them: attributes first, then the selected fields in order."""
        children = {
            id(plan): self._children(plan, {row["Id"] for row in rows})
            for plan in projection.entries
            if isinstance(plan, ChildPlan)
        }
        return [self._render_one(projection, row, version, children) for row in rows]

    def _render_one(
        self, projection: Projection, record: Record, version: str, children: dict[int, dict[str, list[Record]]]
    ) -> dict[str, Any]:
        spec = projection.spec
        out: dict[str, Any] = {
            "attributes": {"type": spec.name, "url": f"/services/data/v{version}/sobjects/{spec.name}/{record['Id']}"}
        }
        for entry in projection.entries:
            if isinstance(entry, FieldSpec):
                out[entry.name] = (
                    address_value(spec, entry.name, record) if entry.type == "address" else record.get(entry.name)
                )
            elif isinstance(entry, ParentPlan):
                parent_id = record.get(entry.lookup.name)
                parent = self._view().get(parent_id) if parent_id else None
                rendered = self._render_one(entry.projection, parent, version, {}) if parent is not None else None
                out[entry.lookup.relationship or entry.lookup.name] = rendered
            else:
                rows = children[id(entry)].get(record["Id"], [])
                out[entry.name] = (
                    {"totalSize": len(rows), "done": True, "records": self.render(entry.projection, rows, version)}
                    if rows
                    else None  # an empty child relationship is null, not an empty list
                )
        return out

    def _children(self, plan: ChildPlan, parent_ids: set[str]) -> dict[str, list[Record]]:
        grouped: dict[str, list[Record]] = {}
        for record in self._view().rows(plan.spec.name):
            parent = record.get(plan.parent_field)
            if parent in parent_ids and not record.get("IsDeleted") and (plan.where is None or plan.where(record)):
                grouped.setdefault(parent, []).append(record)
        for rows in grouped.values():
            _sort(rows, plan.order)
            if plan.limit is not None:
                del rows[plan.limit :]
        return grouped

    def _expire(self) -> None:
        cutoff = time.monotonic() - CURSOR_TTL_S
        for key in [key for key, cursor in self.cursors.items() if cursor.touched < cutoff]:
            del self.cursors[key]


def _sort(rows: list[Record], order: list[tuple[Getter, bool, bool]]) -> None:
    # Stable sorts from the last key to the first give a multi-key sort with per-key direction and null placement.
    for getter, descending, nulls_last in reversed(order):
        null_flag = 1 if nulls_last != descending else 0

        def key(record: Record, getter: Getter = getter, null_flag: int = null_flag) -> tuple[int, Any]:
            value = getter(record)
            return (null_flag, 0) if value is None else (1 - null_flag, value)

        rows.sort(key=key, reverse=descending)


def _located(text: str, error: SoqlError) -> SalesforceError:
    """Salesforce's error text: the query line, a caret under the problem, then Row/Column and the message."""
    pos = min(error.pos, len(text))
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    row = text.count("\n", 0, pos) + 1
    column = pos - line_start + 1
    message = f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{error.message}"
    return SalesforceError(400, error.error_code, message)
