"""The inclusion check: does every instance of the writer's schema also satisfy the reader's? Walks both schemas
together (recursive models included) and applies the per-keyword rules for objects, arrays, strings and numbers."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from crossdock.events.compat.bounds import _bound, _within
from crossdock.events.compat.keywords import (
    _HANDLED,
    _MAX_DEPTH,
    _MISSING,
    JSON_TYPES,
    _accepts_type,
    _constraints,
    _enum_of,
    _finite_values,
    _is_constraint,
    _types,
)
from crossdock.events.compat.messages import _MESSAGES, _fmt, _fmt_types
from crossdock.events.compat.modes import Direction, Incompatibility
from crossdock.events.compat.resolve import _branches, _SchemaResolver


class _SubsetChecker(_SchemaResolver):
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
