"""Schema resolution: $ref (local, into $defs) and allOf flattened into plain schemas, unions split into their
branches, and whether a reader accepts one concrete value (in Python where it can, else by a compiled validator)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema_rs

from crossdock.events.compat.keywords import (
    _MAX_DEPTH,
    _accepts_type,
    _constraints,
    _declared_types,
    _is_constraint,
    _same_json,
    _type_of,
)
from crossdock.events.compat.modes import InvalidSchemaError


class _SchemaResolver:
    """Schema plumbing for `_SubsetChecker`, whose `__init__` sets the attributes declared here."""

    _reader_root: Mapping[str, Any] | bool
    _resolved: dict[tuple[int, int], tuple[Any, Any]]
    _value_validators: dict[int, tuple[Any, Any]]

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
