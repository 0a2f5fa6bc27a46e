"""JSON Schema compatibility between two versions of an event schema, in the modes of Confluent's registry.

The question behind every mode is one of inclusion: is every document the *writer's* schema accepts also
accepted by the *reader's* schema? BACKWARD asks it with old data and a new reader (consumers upgraded
first), FORWARD with new data and an old reader (producers upgraded first), FULL asks both. The checker
covers the JSON Schema that pydantic emits ($ref/$defs, type, properties/required/additionalProperties,
enum/const, anyOf/oneOf, items/prefixItems, format, pattern and the numeric, length and size bounds). It is
conservative: a keyword it cannot reason about counts as incompatible when it changed, so a green answer can
be trusted.

One deliberate departure from the letter of JSON Schema: a property that appears in the reader but not in
the writer is not checked against the writer's *implicit* (unset) `additionalProperties`. Our writers are
pydantic models, whose `model_dump` emits declared fields only, so old data never carries a field the old
model lacked; without this rule adding an optional field would count as breaking, which is not what anybody
on the wire experiences. An explicit `additionalProperties: true` or schema on the writer is still honoured.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import jsonschema_rs

JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
_MAX_DEPTH = 64
_MISSING: Any = object()

# Keywords that never make a document invalid; changes to them are not compatibility questions.
_ANNOTATIONS = frozenset(
    [
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
        "$schema",
        "$id",
        "$anchor",
        "$defs",
        "definitions",
        "$vocabulary",
        "discriminator",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
    ]
)
# Keywords this module reasons about; any other validation keyword is compared for equality.
_HANDLED = frozenset(
    [
        "$ref",
        "type",
        "enum",
        "const",
        "anyOf",
        "oneOf",
        "properties",
        "required",
        "additionalProperties",
        "minProperties",
        "maxProperties",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    ]
)


class InvalidSchemaError(ValueError):
    """A schema the checker cannot read (for example a $ref that points nowhere)."""


class CompatibilityMode(enum.StrEnum):
    """Which evolution a subject allows, as in Confluent's schema registry."""

    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @property
    def transitive(self) -> bool:
        """Whether a new version is checked against every earlier version, not only the latest."""
        return self.value.endswith("_TRANSITIVE")

    @property
    def directions(self) -> tuple[Direction, ...]:
        """The directions this mode checks."""
        base = self.value.removesuffix("_TRANSITIVE")
        if base == "BACKWARD":
            return (Direction.BACKWARD,)
        if base == "FORWARD":
            return (Direction.FORWARD,)
        if base == "FULL":
            return (Direction.BACKWARD, Direction.FORWARD)
        return ()


class Direction(enum.StrEnum):
    """BACKWARD: old data, new reader. FORWARD: new data, old reader."""

    BACKWARD = "backward"
    FORWARD = "forward"


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One reason a schema change breaks readers, at a path into the schema's instance structure."""

    path: str
    message: str
    direction: Direction

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# (backward wording, forward wording). In BACKWARD the writer is the old schema, in FORWARD the new one, so
# the same finding reads differently: a field that became required vs. a required field that was dropped.
_MESSAGES: dict[str, tuple[str, str]] = {
    "required_new": (
        "field became required with no default; old data lacks it",
        "required field was removed; new data lacks it, but consumers on the old schema require it",
    ),
    "required_optional": (
        "field became required; old data may omit it",
        "field became optional; new data may omit it, but consumers on the old schema require it",
    ),
    "type": (
        "type narrowed to {reader}; old data may be {value}",
        "type widened to allow {value}; consumers on the old schema accept only {reader}",
    ),
    "nullable": (
        "became non-nullable; old data may hold null",
        "became nullable; new data may hold null, which consumers on the old schema reject",
    ),
    "enum_values": (
        "allowed values narrowed; old data may hold {value}, which the new schema rejects",
        "allowed values widened with {value}; consumers on the old schema reject it",
    ),
    "enum_added": (
        "values restricted to {reader}; old data may hold others",
        "restriction to {reader} was lifted; new data may hold values consumers on the old schema reject",
    ),
    "closed_removed": (
        "field was removed, but the new schema forbids unknown fields and old data carries it",
        "field was added, but the old schema forbids unknown fields; consumers on it reject new data",
    ),
    "closed_extra": (
        "unknown fields became forbidden; old data may carry them",
        "unknown fields became allowed; consumers on the old schema forbid them",
    ),
    "bound": (
        "{keyword} tightened from {old} to {new}; old data may fall outside it",
        "{keyword} loosened from {old} to {new}; new data may fall outside what the old schema accepts",
    ),
    "changed": (
        "{keyword} changed from {old} to {new}; old data may not satisfy it",
        "{keyword} changed from {old} to {new}; new data may not satisfy the old schema",
    ),
    "nothing": (
        "the new schema accepts no value here; old data may have one",
        "the old schema accepted no value here; new data may have one",
    ),
    "too_deep": (
        "schemas nest deeper than {value} levels; cannot prove compatibility",
        "schemas nest deeper than {value} levels; cannot prove compatibility",
    ),
}


def check_compatibility(
    old: Mapping[str, Any] | bool,
    new: Mapping[str, Any] | bool,
    mode: CompatibilityMode = CompatibilityMode.BACKWARD,
) -> list[Incompatibility]:
    """Every way `new` breaks readers or writers of `old` under `mode`; an empty list means compatible."""
    if old == new:
        return []
    problems: list[Incompatibility] = []
    for direction in mode.directions:
        writer, reader = (old, new) if direction is Direction.BACKWARD else (new, old)
        problems.extend(_SubsetChecker(writer, reader, direction).run())
    return problems


def is_compatible(
    old: Mapping[str, Any] | bool,
    new: Mapping[str, Any] | bool,
    mode: CompatibilityMode = CompatibilityMode.BACKWARD,
) -> bool:
    """Whether `new` may follow `old` under `mode`."""
    return not check_compatibility(old, new, mode)


class _Text(str):
    """Text already worded for a message (a bound such as `>= 1`), shown without quotes."""

    __slots__ = ()


def _fmt(value: Any) -> str:
    if value is None or value is _MISSING:
        return "unset"
    if isinstance(value, _Text):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple, frozenset, set)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


_PYTHON_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),  # before int: bool is an int subclass
    (int, "integer"),
    (str, "string"),
    (list, "array"),
)


def _type_of(value: Any) -> str:
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    for python_type, json_type in _PYTHON_JSON_TYPES:
        if isinstance(value, python_type):
            return json_type
    return "object"


def _accepts_type(reader_types: frozenset[str] | None, writer_type: str) -> bool:
    if reader_types is None:
        return True
    return writer_type in reader_types or (writer_type == "integer" and "number" in reader_types)


@dataclass(frozen=True, slots=True)
class _Bound:
    value: Fraction
    exclusive: bool

    def text(self, lower: bool) -> _Text:
        op = (">" if self.exclusive else ">=") if lower else ("<" if self.exclusive else "<=")
        number = str(self.value.numerator) if self.value.denominator == 1 else str(float(self.value))
        return _Text(f"{op} {number}")


class _SubsetChecker:
    """Proves (or fails to prove) that every instance of `writer` is an instance of `reader`."""

    def __init__(self, writer: Mapping[str, Any] | bool, reader: Mapping[str, Any] | bool, direction: Direction):
        self._writer_root = writer
        self._reader_root = reader
        self._direction = direction
        # Pairs of schema nodes being compared further up the stack: meeting one again means a recursive model
        # (a category tree); inclusion holds co-inductively, so the repeat adds nothing.
        self._active: set[tuple[int, int]] = set()
        self._resolved: dict[tuple[int, int], tuple[Any, Any]] = {}
        self._value_validators: dict[int, tuple[Any, Any]] = {}

    def run(self) -> list[Incompatibility]:
        seen: set[tuple[str, str]] = set()
        unique: list[Incompatibility] = []
        for problem in self._check(self._writer_root, self._reader_root, (), 0):
            key = (problem.path, problem.message)
            if key not in seen:
                seen.add(key)
                unique.append(problem)
        # Grouped by path so that a reviewer reads each field's problems together (sort is stable).
        return sorted(unique, key=lambda problem: problem.path)

    # -- reporting

    def _issue(
        self,
        path: tuple[str, ...],
        kind: str,
        *,
        writer: Any = _MISSING,
        reader: Any = _MISSING,
        **extra: Any,
    ) -> Incompatibility:
        backward = self._direction is Direction.BACKWARD
        old, new = (writer, reader) if backward else (reader, writer)
        template = _MESSAGES[kind][0 if backward else 1]
        text = template.format(old=_fmt(old), new=_fmt(new), reader=_fmt(reader), writer=_fmt(writer), **extra)
        return Incompatibility(".".join(path) or "$", text, self._direction)

    # -- schema plumbing

    def _resolve(self, node: Any, root: Any, depth: int = 0) -> Any:
        """Follow $ref and flatten allOf into a plain schema (dict or bool); memoised to keep identities."""
        if not isinstance(node, Mapping) or ("$ref" not in node and "allOf" not in node):
            return node
        # Keyed by root too: old and new may share a `{"$ref": ...}` node whose target differs between them.
        memo_key = (id(node), id(root))
        cached = self._resolved.get(memo_key)
        if cached is not None and cached[0] is node:
            return cached[1]
        if depth > _MAX_DEPTH:
            raise InvalidSchemaError("$ref chain too long or circular without any structure in between")
        # Annotation siblings (a description next to a $ref) are dropped so that the result is the $ref's
        # target itself: stable identities are what lets `_check` recognise a recursive model.
        result: Any = {k: v for k, v in node.items() if k not in ("$ref", "allOf") and _is_constraint(k)}
        parts: list[Any] = []
        if "$ref" in node:
            parts.append(self._resolve(self._pointer(node["$ref"], root), root, depth + 1))
        parts.extend(self._resolve(part, root, depth + 1) for part in node.get("allOf", ()))
        for part in parts:
            result = _merge(result, part)
        if isinstance(result, dict) and not result:
            result = True
        self._resolved[memo_key] = (node, result)
        return result

    @staticmethod
    def _pointer(ref: Any, root: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise InvalidSchemaError(f"$ref {ref!r} is not local; schemas must be self-contained (use $defs)")
        target = root
        for raw in ref[1:].split("/")[1:]:
            token = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                raise InvalidSchemaError(f"$ref {ref!r} points nowhere in its schema")
        return target

    def _reader_accepts_value(self, reader: Mapping[str, Any], value: Any) -> bool:
        """Whether the reader schema accepts one concrete value (an enum member, null, true/false)."""
        quick = self._quick_accepts(reader, value, 0)
        if quick is not None:
            return quick
        cached = self._value_validators.get(id(reader))
        if cached is not None and cached[0] is reader:
            validator = cached[1]
        else:
            document: dict[str, Any] = {"allOf": [dict(reader)]}
            # Carry the root's definitions so $refs inside the subschema still resolve.
            if isinstance(self._reader_root, Mapping):
                for key in ("$defs", "definitions"):
                    if key in self._reader_root:
                        document[key] = self._reader_root[key]
            try:
                validator = jsonschema_rs.Draft202012Validator(document)
            except ValueError as exc:
                raise InvalidSchemaError(f"cannot compile a subschema for a value check: {exc}") from exc
            # Keep the node alive beside its validator so that its id cannot be reused by another dict.
            self._value_validators[id(reader)] = (reader, validator)
        return bool(validator.is_valid(value))

    def _quick_accepts(self, reader: Any, value: Any, depth: int) -> bool | None:
        """The common cases (type, enum, const, unions of them) in Python; None when a validator must decide.

        Compiling a validator carries the whole `$defs`, which made value checks the slowest part of a check.
        """
        reader = self._resolve(reader, self._reader_root)
        if isinstance(reader, bool):
            return reader
        if depth > _MAX_DEPTH or not isinstance(reader, Mapping):
            return None
        for keyword in ("anyOf", "oneOf"):
            if keyword in reader:
                return self._quick_union(reader, keyword, value, depth)
        return _quick_plain(reader, value)

    def _quick_union(self, reader: Mapping[str, Any], keyword: str, value: Any, depth: int) -> bool | None:
        if _constraints({k: v for k, v in reader.items() if k != keyword}):
            return None
        verdicts = [self._quick_accepts(branch, value, depth + 1) for branch in reader[keyword]]
        if None in verdicts:
            return None
        return verdicts.count(True) == 1 if keyword == "oneOf" else any(verdicts)

    # -- the inclusion check

    def _check(self, writer: Any, reader: Any, path: tuple[str, ...], depth: int) -> list[Incompatibility]:
        if depth > _MAX_DEPTH:
            return [self._issue(path, "too_deep", value=_MAX_DEPTH)]
        writer = self._resolve(writer, self._writer_root)
        reader = self._resolve(reader, self._reader_root)
        if reader is True or writer is False or (isinstance(reader, Mapping) and not _constraints(reader)):
            return []
        if reader is False:
            return [self._issue(path, "nothing")]
        if writer is True:
            writer = {}
        key = (id(writer), id(reader))
        if key in self._active:
            return []
        self._active.add(key)
        try:
            return self._check_nodes(writer, reader, path, depth)
        finally:
            self._active.discard(key)

    def _check_nodes(
        self, writer: Mapping[str, Any], reader: Mapping[str, Any], path: tuple[str, ...], depth: int
    ) -> list[Incompatibility]:
        values = _finite_values(writer)
        if values is not None:
            return self._check_values(values, reader, path)
        branches = _branches(writer)
        if branches is not None:
            issues: list[Incompatibility] = []
            for branch in branches:
                issues.extend(self._check(branch, reader, path, depth + 1))
            return issues
        reader_branches = _branches(reader)
        if reader_branches is not None:
            return self._check_against_union(writer, reader_branches, path, depth)
        if "enum" in reader or "const" in reader:
            return [self._issue(path, "enum_added", reader=_enum_of(reader))]
        return self._check_typed(writer, reader, path, depth)

    def _check_typed(
        self, writer: Mapping[str, Any], reader: Mapping[str, Any], path: tuple[str, ...], depth: int
    ) -> list[Incompatibility]:
        issues = []
        writer_types = _types(writer)
        reader_types = _types(reader)
        candidates = writer_types if writer_types is not None else frozenset(JSON_TYPES)
        common = {json_type for json_type in candidates if _accepts_type(reader_types, json_type)}
        if common != candidates:
            rejected = "any JSON value" if writer_types is None else _fmt_types(candidates - common)
            issues.append(self._issue(path, "type", reader=_fmt_types(reader_types), value=rejected))
        if "object" in common:
            issues.extend(self._check_object(writer, reader, path, depth))
        if "array" in common:
            issues.extend(self._check_array(writer, reader, path, depth))
        if "string" in common:
            issues.extend(self._check_string(writer, reader, path))
        if common & {"number", "integer"}:
            integer_only = writer_types is not None and not (writer_types - {"integer"})
            issues.extend(self._check_number(writer, reader, path, integer_only=integer_only))
        for keyword in reader:
            if keyword in _HANDLED or not _is_constraint(keyword):
                continue
            if reader[keyword] != writer.get(keyword, _MISSING):
                issues.append(
                    self._issue(path, "changed", keyword=keyword, writer=writer.get(keyword), reader=reader[keyword])
                )
        return issues

    def _check_values(
        self, values: list[Any], reader: Mapping[str, Any], path: tuple[str, ...]
    ) -> list[Incompatibility]:
        rejected = [value for value in values if not self._reader_accepts_value(reader, value)]
        if not rejected:
            return []
        issues = []
        if any(value is None for value in rejected):
            issues.append(self._issue(path, "nullable"))
        others = [value for value in rejected if value is not None]
        if others:
            issues.append(self._issue(path, "enum_values", value=_fmt(others)))
        return issues

    def _check_against_union(
        self, writer: Mapping[str, Any], branches: list[Any], path: tuple[str, ...], depth: int
    ) -> list[Incompatibility]:
        # oneOf is read as anyOf: pydantic emits oneOf only for discriminated unions, whose tags keep the
        # branches apart, so a value that fits one branch fits exactly one.
        writer_types = _types(writer)
        best: list[Incompatibility] | None = None
        all_reader_types: set[str] = set()
        for branch in branches:
            resolved = self._resolve(branch, self._reader_root)
            branch_types = _types(resolved) if isinstance(resolved, Mapping) else None
            if branch_types is None:
                all_reader_types.update(JSON_TYPES)
            else:
                all_reader_types.update(branch_types)
            if writer_types is not None and not any(_accepts_type(branch_types, t) for t in writer_types):
                continue
            issues = self._check(writer, branch, path, depth + 1)
            if not issues:
                return []
            if best is None or len(issues) < len(best):
                best = issues
        if best is not None:
            return best
        wanted = "any JSON value" if writer_types is None else _fmt_types(writer_types)
        return [self._issue(path, "type", reader=_fmt_types(frozenset(all_reader_types)), value=wanted)]

    def _check_object(
        self, writer: Mapping[str, Any], reader: Mapping[str, Any], path: tuple[str, ...], depth: int
    ) -> list[Incompatibility]:
        issues: list[Incompatibility] = []
        writer_props: Mapping[str, Any] = writer.get("properties", {})
        reader_props: Mapping[str, Any] = reader.get("properties", {})
        writer_required = set(writer.get("required", ()))
        writer_extra = writer.get("additionalProperties", _MISSING)
        reader_extra = reader.get("additionalProperties", _MISSING)
        for name in reader.get("required", ()):
            if name not in writer_required:
                kind = "required_optional" if name in writer_props else "required_new"
                issues.append(self._issue((*path, "properties", name), kind))
        for name, writer_schema in writer_props.items():
            where = (*path, "properties", name)
            if name in reader_props:
                issues.extend(self._check(writer_schema, reader_props[name], where, depth + 1))
            elif reader_extra is False:
                issues.append(self._issue(where, "closed_removed"))
            elif reader_extra is not _MISSING:
                issues.extend(self._check(writer_schema, reader_extra, where, depth + 1))
        if writer_extra is not _MISSING and writer_extra is not False:
            # The writer declares open content explicitly: its extra fields must fit the reader's definitions.
            for name, reader_schema in reader_props.items():
                if name not in writer_props:
                    issues.extend(self._check(writer_extra, reader_schema, (*path, "properties", name), depth + 1))
            if reader_extra is False:
                issues.append(self._issue(path, "closed_extra"))
            elif reader_extra is not _MISSING:
                issues.extend(self._check(writer_extra, reader_extra, (*path, "additionalProperties"), depth + 1))
        issues.extend(self._check_size(writer, reader, path, "minProperties", "maxProperties"))
        return issues

    def _check_array(
        self, writer: Mapping[str, Any], reader: Mapping[str, Any], path: tuple[str, ...], depth: int
    ) -> list[Incompatibility]:
        issues: list[Incompatibility] = []
        writer_prefix = writer.get("prefixItems", ())
        reader_prefix = reader.get("prefixItems", ())
        writer_items = writer.get("items", True)
        reader_items = reader.get("items", True)
        for index in range(max(len(writer_prefix), len(reader_prefix))):
            issues.extend(
                self._check(
                    writer_prefix[index] if index < len(writer_prefix) else writer_items,
                    reader_prefix[index] if index < len(reader_prefix) else reader_items,
                    (*path, "prefixItems", str(index)),
                    depth + 1,
                )
            )
        issues.extend(self._check(writer_items, reader_items, (*path, "items"), depth + 1))
        issues.extend(self._check_size(writer, reader, path, "minItems", "maxItems"))
        if reader.get("uniqueItems") is True and writer.get("uniqueItems") is not True:
            issues.append(self._issue(path, "changed", keyword="uniqueItems", writer=False, reader=True))
        return issues

    def _check_string(
        self, writer: Mapping[str, Any], reader: Mapping[str, Any], path: tuple[str, ...]
    ) -> list[Incompatibility]:
        issues = self._check_size(writer, reader, path, "minLength", "maxLength")
        for keyword in ("pattern", "format"):
            if keyword in reader and reader[keyword] != writer.get(keyword):
                issues.append(
                    self._issue(path, "changed", keyword=keyword, writer=writer.get(keyword), reader=reader[keyword])
                )
        return issues

    def _check_size(
        self, writer: Mapping[str, Any], reader: Mapping[str, Any], path: tuple[str, ...], low: str, high: str
    ) -> list[Incompatibility]:
        issues = []
        if low in reader and writer.get(low, 0) < reader[low]:
            issues.append(self._issue(path, "bound", keyword=low, writer=writer.get(low), reader=reader[low]))
        if high in reader and (high not in writer or writer[high] > reader[high]):
            issues.append(self._issue(path, "bound", keyword=high, writer=writer.get(high), reader=reader[high]))
        return issues

    def _check_number(
        self,
        writer: Mapping[str, Any],
        reader: Mapping[str, Any],
        path: tuple[str, ...],
        *,
        integer_only: bool,
    ) -> list[Incompatibility]:
        issues = []
        for lower in (True, False):
            writer_bound = _bound(writer, lower=lower, integer=integer_only)
            reader_bound = _bound(reader, lower=lower, integer=integer_only)
            if reader_bound is None or (writer_bound is not None and _within(writer_bound, reader_bound, lower)):
                continue
            issues.append(
                self._issue(
                    path,
                    "bound",
                    keyword="lower bound" if lower else "upper bound",
                    writer=None if writer_bound is None else writer_bound.text(lower),
                    reader=reader_bound.text(lower),
                )
            )
        reader_step = reader.get("multipleOf")
        if reader_step is not None:
            writer_step = writer.get("multipleOf")
            ratio = None if writer_step is None else Fraction(str(writer_step)) / Fraction(str(reader_step))
            if ratio is None or ratio.denominator != 1:
                issues.append(
                    self._issue(path, "changed", keyword="multipleOf", writer=writer_step, reader=reader_step)
                )
        return issues


def _is_constraint(keyword: str) -> bool:
    return keyword not in _ANNOTATIONS and not keyword.startswith("x-")


def _constraints(schema: Mapping[str, Any]) -> bool:
    """Whether a schema object constrains anything at all (`{}` and pure annotations accept every value)."""
    return any(_is_constraint(k) for k in schema)


def _merge(left: Any, right: Any) -> Any:
    """The conjunction of two resolved schemas, for the shapes pydantic produces ($ref + siblings, allOf)."""
    if left is False or right is False:
        return False
    if left is True or (isinstance(left, Mapping) and not left):
        return right if right is not True else {}
    if right is True:
        return left
    merged = dict(left)
    for key, value in right.items():
        if key not in merged:
            merged[key] = value
        elif key == "properties":
            props = dict(merged[key])
            for name, sub in value.items():
                props[name] = {"allOf": [props[name], sub]} if name in props else sub
            merged[key] = props
        elif key == "required":
            merged[key] = list(dict.fromkeys([*merged[key], *value]))
        elif key == "type":
            left_types = {merged[key]} if isinstance(merged[key], str) else set(merged[key])
            right_types = {value} if isinstance(value, str) else set(value)
            merged[key] = sorted(left_types & right_types)
        elif key in ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"):
            merged[key] = max(merged[key], value)
        elif key in ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"):
            merged[key] = min(merged[key], value)
        elif key in ("anyOf", "oneOf") and merged[key] != value:
            merged.setdefault("allOf", [])
            merged["allOf"] = [{key: merged[key]}, {key: value}]
            del merged[key]
    return merged


# Keywords that can reject a value of a given JSON type; with none present, type/enum/const decide alone.
_GENERIC_KEYWORDS = ("not", "if", "$dynamicRef")
_VALUE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "null": _GENERIC_KEYWORDS,
    "boolean": _GENERIC_KEYWORDS,
    "string": (*_GENERIC_KEYWORDS, "minLength", "maxLength", "pattern", "format"),
    "integer": (*_GENERIC_KEYWORDS, "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
    "number": (*_GENERIC_KEYWORDS, "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
}


def _quick_plain(reader: Mapping[str, Any], value: Any) -> bool | None:
    value_type = _type_of(value)
    if not _accepts_type(_declared_types(reader), value_type):
        return False
    if "const" in reader and not _same_json(reader["const"], value):
        return False
    if "enum" in reader and not any(_same_json(member, value) for member in reader["enum"]):
        return False
    applicable = _VALUE_KEYWORDS.get(value_type, _GENERIC_KEYWORDS)
    return None if any(keyword in reader for keyword in applicable) else True


def _declared_types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    declared = schema.get("type")
    if isinstance(declared, str):
        return frozenset({declared})
    if isinstance(declared, list):
        return frozenset(declared)
    return None


def _same_json(left: Any, right: Any) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    return bool(left == right)


def _types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    """The JSON types a schema admits, or None when it does not say."""
    declared = _declared_types(schema)
    if declared is not None:
        return declared
    values = _finite_values(schema)
    if values is not None:
        return frozenset(_type_of(value) for value in values)
    return None


def _fmt_types(types: frozenset[str] | None) -> _Text:
    if types is None:
        return _Text("any type")
    return _Text(" or ".join(t for t in JSON_TYPES if t in types))


def _enum_of(schema: Mapping[str, Any]) -> list[Any]:
    return [schema["const"]] if "const" in schema else list(schema["enum"])


def _finite_values(schema: Mapping[str, Any]) -> list[Any] | None:
    """Every value a schema can take, when that set is small and explicit (enum, const, null, boolean)."""
    if "const" in schema or "enum" in schema:
        return _enum_of(schema)
    declared = schema.get("type")
    if declared in ("null", ["null"]):
        return [None]
    if declared in ("boolean", ["boolean"]):
        return [True, False]
    return None


def _branches(schema: Mapping[str, Any]) -> list[Any] | None:
    """A union schema as its alternatives (each with the shared sibling keywords), or None if not a union."""
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            # Pydantic puts only annotations (default, title) beside an optional's anyOf; keeping the branches
            # as they are preserves their identity for recursion detection.
            rest = {k: v for k, v in schema.items() if k != keyword and _is_constraint(k)}
            return [_merge(rest, branch) if rest else branch for branch in schema[keyword]]
    declared = schema.get("type")
    if isinstance(declared, list) and len(declared) > 1:
        return [{**schema, "type": json_type} for json_type in declared]
    return None


def _bound(schema: Mapping[str, Any], *, lower: bool, integer: bool) -> _Bound | None:
    inclusive_key, exclusive_key = ("minimum", "exclusiveMinimum") if lower else ("maximum", "exclusiveMaximum")
    candidates: Iterator[_Bound] = (
        _Bound(Fraction(str(schema[key])), key == exclusive_key)
        for key in (inclusive_key, exclusive_key)
        if isinstance(schema.get(key), (int, float)) and not isinstance(schema.get(key), bool)
    )
    bounds = list(candidates)
    if integer:
        # For integers `> 0` and `>= 1` are one bound; normalise so swapping one for the other is no change.
        bounds = [_integer_bound(bound, lower=lower) for bound in bounds]
    if not bounds:
        return None
    # The tightest bound wins: largest lower, smallest upper (exclusive beats inclusive on a tie).
    if lower:
        return max(bounds, key=lambda b: (b.value, b.exclusive))
    return min(bounds, key=lambda b: (b.value, not b.exclusive))


def _integer_bound(bound: _Bound, *, lower: bool) -> _Bound:
    if lower:
        value = math.floor(bound.value) + 1 if bound.exclusive else math.ceil(bound.value)
    else:
        value = math.ceil(bound.value) - 1 if bound.exclusive else math.floor(bound.value)
    return _Bound(Fraction(value), exclusive=False)


def _within(writer: _Bound, reader: _Bound, lower: bool) -> bool:
    """Whether the writer's bound keeps every value inside the reader's bound."""
    if writer.value != reader.value:
        return writer.value > reader.value if lower else writer.value < reader.value
    return writer.exclusive or not reader.exclusive
