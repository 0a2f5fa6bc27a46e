"""Spec validation shared by its parts, and the checks of a rule's value pipeline: transforms, maps, UOM, types.

Every problem is a SpecError at the spec's file:line, saying what to write instead.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from crossdock.mapping.errors import SpecError
from crossdock.mapping.loader import LineMap
from crossdock.mapping.paths import FieldPath, parse_path
from crossdock.mapping.transforms import ARG_TRANSFORMS, PLAIN_TRANSFORMS, TYPES, Coercion, Transform
from crossdock.mapping.uom import UnitRef, UomConversion


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What field rules of one spec share: the file name, named value maps, default UOM factors, omit_nulls."""

    origin: str
    value_maps: Mapping[str, Mapping[Any, Any]]
    units: Mapping[str, Decimal | FieldPath]
    omit_nulls: bool

    def error(self, line: int, problem: str, hint: str = "") -> SpecError:
        """A SpecError at a line of this spec."""
        return SpecError(f"{self.origin}:{line}", problem, hint)


def check_keys(ctx: RuleContext, mapping: LineMap, allowed: tuple[str, ...], what: str) -> None:
    """Reject unknown keys, suggesting the closest allowed one."""
    for key in mapping:
        if key not in allowed:
            # Swapped letters (`form` for `from`) first: difflib alone prefers longer near-matches (`format`).
            close = [name for name in allowed if sorted(name) == sorted(str(key))]
            close = close or difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "allowed keys: " + ", ".join(allowed)
            raise ctx.error(mapping.line_of(key), f"unknown key {key!r} in {what}", hint)


def path_at(ctx: RuleContext, text: Any, line: int, what: str) -> FieldPath:
    """Parse a path from the spec, as a SpecError at `line` when it is malformed."""
    try:
        return parse_path(text)
    except ValueError as exc:
        raise ctx.error(line, f"bad {what}: {exc}") from None


def plain_value(ctx: RuleContext, value: Any, line: int, what: str) -> Any:
    """A JSON-compatible copy of a YAML value (constants, defaults, value-map entries)."""
    if isinstance(value, (date, time)):
        raise ctx.error(line, f"{what}: YAML read {value} as a date or time", f"quote it: '{value}'")
    if isinstance(value, dict):
        return {str(key): plain_value(ctx, item, line, what) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_value(ctx, item, line, what) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ctx.error(line, f"{what}: unsupported value {value!r}", "use text, a number, true/false or null")


def parse_factor(ctx: RuleContext, value: Any, line: int, unit: Any) -> Decimal | FieldPath:
    """A UOM factor: a positive number, or `{from: path}` to read it from the record (a pack size)."""
    if isinstance(value, LineMap):
        check_keys(ctx, value, ("from",), f"the factor of {unit!r}")
        if "from" not in value:
            raise ctx.error(line, f"the factor of {unit!r} needs `from: <path>`")
        return path_at(ctx, value["from"], value.line_of("from"), f"factor path of {unit!r}")
    try:
        factor = Decimal(str(value)) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
    except InvalidOperation:
        factor = None
    if factor is None or not factor.is_finite() or factor <= 0:
        raise ctx.error(line, f"the factor of {unit!r} must be a positive number or {{from: <path>}}, got {value!r}")
    return factor


def parse_pipeline(ctx: RuleContext, body: LineMap) -> dict[str, Any]:
    """Validate what a rule does to its value: transform, map or map_patterns (and their fallback), uom and type."""
    at = body.line_of
    fields: dict[str, Any] = {"coercion": _parse_coercion(ctx, body)}
    if "transform" in body:
        fields["transforms"] = _parse_transforms(ctx, body["transform"], at("transform"))
    if "map" in body and "map_patterns" in body:
        raise ctx.error(at("map_patterns"), "a field has `map:` or `map_patterns:`, not both", "keep one of them")
    if "map" in body:
        fields["value_map"] = _parse_value_map(ctx, body["map"], at("map"))
    if "map_patterns" in body:
        fields["value_patterns"] = _parse_patterns(ctx, body["map_patterns"], at("map_patterns"))
    fields.update(_parse_fallback(ctx, body))
    if "uom" in body:
        fields["uom"] = _parse_uom(ctx, body["uom"], at("uom"))
    return fields


def _parse_fallback(ctx: RuleContext, body: LineMap) -> dict[str, Any]:
    """What a value map does with a value it does not know: `map_default:` or `map_passthrough:`, else an error."""
    at = body.line_of
    mapped = "map" in body or "map_patterns" in body
    for key in ("map_default", "map_passthrough"):
        if key in body and not mapped:
            raise ctx.error(at(key), f"{key} without map", f"add `map:` or `map_patterns:`, or remove {key}")
    if "map_default" in body and body.get("map_passthrough", False) is not False:
        raise ctx.error(at("map_passthrough"), "a value map has map_default or map_passthrough, not both")
    if "map_default" in body:
        default = plain_value(ctx, body["map_default"], at("map_default"), "map_default")
        return {"has_map_default": True, "map_default": default}
    keep = body.get("map_passthrough", False)
    if keep is False:
        return {}
    if keep is True:
        return {"map_passthrough": True}
    if keep not in PLAIN_TRANSFORMS:
        names = ", ".join(PLAIN_TRANSFORMS)
        raise ctx.error(at("map_passthrough"), f"map_passthrough must be true, false or one of {names}, got {keep!r}")
    return {"map_passthrough": True, "passthrough_transform": Transform(keep)}


def _parse_patterns(ctx: RuleContext, value: Any, line: int) -> tuple[tuple[re.Pattern[str], Any], ...]:
    if not isinstance(value, LineMap) or not value:
        raise ctx.error(line, "`map_patterns:` must map regular expressions to values, tried in order")
    return tuple(
        (
            pattern_at(ctx, key, value.line_of(key), "map_patterns"),
            plain_value(ctx, item, value.line_of(key), "map_patterns entry"),
        )
        for key, item in value.items()
    )


def pattern_at(ctx: RuleContext, text: Any, line: int, what: str) -> re.Pattern[str]:
    """A regular expression from the spec (Python `re` syntax), as a SpecError when it does not compile."""
    if not isinstance(text, str) or not text:
        raise ctx.error(line, f"{what} needs a regular expression as text, got {text!r}", "quote it: '^[0-9]+$'")
    try:
        return re.compile(text)
    except re.error as exc:
        raise ctx.error(line, f"{what}: invalid regular expression {text!r}: {exc}") from None


def _parse_transforms(ctx: RuleContext, value: Any, line: int) -> tuple[Transform, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(_parse_transform(ctx, item, line) for item in items)


def _parse_transform(ctx: RuleContext, item: Any, line: int) -> Transform:
    names = ", ".join([*PLAIN_TRANSFORMS, *ARG_TRANSFORMS])
    if isinstance(item, str):
        if item not in PLAIN_TRANSFORMS:
            hint = f"use one of {names}; {item} takes an argument: {{{item}: ...}}" if item in ARG_TRANSFORMS else ""
            raise ctx.error(line, f"unknown transform {item!r}", hint or f"use one of {names}")
        return Transform(item)
    if not isinstance(item, LineMap) or len(item) != 1:
        raise ctx.error(line, f"a transform is a name or a one-key mapping, got {item!r}", f"use one of {names}")
    (name, arg), at = next(iter(item.items())), item.line
    if name not in ARG_TRANSFORMS:
        raise ctx.error(at, f"unknown transform {name!r}", f"use one of {names}")
    if name == "split" and isinstance(arg, LineMap):
        check_keys(ctx, arg, ("sep", "index", "max"), "split")
        index, maxsplit, sep = arg.get("index"), arg.get("max", -1), arg.get("sep", " ")
        if not isinstance(sep, str) or not sep:
            raise ctx.error(at, "split `sep:` must be non-empty text")
        if (index is not None and type(index) is not int) or type(maxsplit) is not int:
            raise ctx.error(at, "split `index:` and `max:` must be whole numbers")
        return Transform("split", sep, index, maxsplit)
    if name == "match":
        return _parse_match(ctx, arg, at)
    if not isinstance(arg, str) or (name == "split" and not arg):
        raise ctx.error(at, f"{name} needs text as its argument, got {arg!r}")
    return Transform(name, arg)


def _parse_match(ctx: RuleContext, arg: Any, line: int) -> Transform:
    """`{match: pattern}` keeps the first group (the whole match without groups); `{match: {pattern, group}}`."""
    if isinstance(arg, LineMap):
        check_keys(ctx, arg, ("pattern", "group"), "match")
        text, group = arg.get("pattern"), arg.get("group")
    else:
        text, group = arg, None
    pattern = pattern_at(ctx, text, line, "match")
    if group is None:
        group = 1 if pattern.groups else 0
    if type(group) is not int or not 0 <= group <= pattern.groups:
        raise ctx.error(line, f"match `group:` must be a whole number 0-{pattern.groups} (0: the whole match)")
    return Transform("match", pattern.pattern, group)


def _parse_value_map(ctx: RuleContext, value: Any, line: int) -> Mapping[Any, Any]:
    if isinstance(value, str):
        if value not in ctx.value_maps:
            known = ", ".join(ctx.value_maps) or "none are declared"
            raise ctx.error(line, f"unknown value map {value!r}", f"declare it under `value_maps:` ({known})")
        return ctx.value_maps[value]
    return value_map(ctx, value, line)


def value_map(ctx: RuleContext, value: Any, line: int) -> dict[Any, Any]:
    """A code translation table: plain keys (text, numbers, booleans) to JSON values."""
    if not isinstance(value, LineMap) or not value:
        raise ctx.error(line, "a value map must be a non-empty mapping of source code to target code")
    result: dict[Any, Any] = {}
    for key, item in value.items():
        if isinstance(key, (date, time)) or key is None:
            raise ctx.error(value.line_of(key), f"value map key {key!r} is not text or a number", "quote it")
        result[key] = plain_value(ctx, item, value.line_of(key), "value map entry")
    return result


def _parse_unit(ctx: RuleContext, value: Any, line: int, what: str) -> UnitRef:
    if isinstance(value, str) and value.strip():
        return UnitRef(code=value.strip())
    if isinstance(value, LineMap) and set(value) == {"from"}:
        return UnitRef(path=path_at(ctx, value["from"], value.line_of("from"), f"{what} path"))
    raise ctx.error(line, f"uom {what} must be a unit code such as EA or {{from: <path>}}, got {value!r}")


def _parse_uom(ctx: RuleContext, value: Any, line: int) -> UomConversion:
    if not isinstance(value, LineMap):
        raise ctx.error(line, "`uom:` must be a mapping with from_unit, to_unit and factors")
    check_keys(ctx, value, ("from_unit", "to_unit", "factors"), "uom")
    for key in ("from_unit", "to_unit"):
        if key not in value:
            raise ctx.error(line, f"`uom:` needs {key}", "a unit code such as EA, or {from: <path>}")
    factors: Mapping[str, Decimal | FieldPath] = ctx.units
    if "factors" in value:
        table = value["factors"]
        if not isinstance(table, LineMap) or not table:
            raise ctx.error(value.line_of("factors"), "`factors:` must map unit codes to numbers")
        factors = {str(unit): parse_factor(ctx, item, table.line_of(unit), unit) for unit, item in table.items()}
    if not factors:
        raise ctx.error(line, "`uom:` has no factors", "add `factors:` here or a top-level `units:` table")
    return UomConversion(
        _parse_unit(ctx, value["from_unit"], value.line_of("from_unit"), "from_unit"),
        _parse_unit(ctx, value["to_unit"], value.line_of("to_unit"), "to_unit"),
        factors,
    )


def _parse_coercion(ctx: RuleContext, body: LineMap) -> Coercion | None:
    kind = body.get("type")
    if kind is None:
        for key in ("format", "output_format", "places"):
            if key in body:
                raise ctx.error(body.line_of(key), f"`{key}:` needs `type:`", "add type: date, datetime or decimal")
        return Coercion("decimal") if "uom" in body else None
    if kind not in TYPES:
        raise ctx.error(body.line_of("type"), f"unknown type {kind!r}", "use one of " + ", ".join(TYPES))
    for key in ("format", "output_format"):
        if key in body and (kind not in ("date", "datetime") or not isinstance(body[key], str)):
            raise ctx.error(body.line_of(key), f"`{key}:` is a strftime pattern for type date or datetime")
    places = body.get("places")
    if places is not None and (kind != "decimal" or type(places) is not int or not 0 <= places <= 18):
        raise ctx.error(body.line_of("places"), "`places:` is a whole number 0-18 for type decimal")
    return Coercion(kind, body.get("format"), body.get("output_format"), places)
