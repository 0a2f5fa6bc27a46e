"""Field rules: the model of one `fields:` entry and its validation (every problem is a SpecError at file:line).

A `fields:` entry is `<target path>: <rule>`; a bare string is short for `{from: <path>}`. Paths: see `paths`.

Where the value comes from (exactly one):
  from: Path | [Path, ...]     read a path; a list of paths gives the list of their values (`join` them)
  const: value                 a constant (lists and objects are copied for each record)
  expr: JSONata                evaluated on the object being mapped, compiled once (slower: use it for the rest)
  each: Path, fields: {...}    map every object of a list with nested rules; a selector in the last step filters

What happens to it, in this order:
  when: Path                   only when this path has a value (not null, not ""); otherwise the field is null
  when_matches: regex          only when the `from:` value is text the pattern finds (Python `re.search`; anchor
                               it with ^...$); otherwise null; a value that is not text is a MappingError
  else: value                  the field's value instead of null when `when:` or `when_matches:` does not hold
  transform: [...]             trim, upper, lower, upper_first (first character only), {join: sep},
                               {split: sep}, {split: {sep, max, index}}, {prefix: text}, {suffix: text},
                               {strip_prefix: text}, {match: regex} (the first group of the first match, or the
                               whole match for a pattern without groups; null when nothing matches),
                               {match: {pattern: regex, group: n}}
  map: {code: code} | name     value map (inline or from `value_maps:`); null passes; an unknown code is a
  map_default: value           MappingError unless `map_default:` gives the value for it, or
  map_passthrough: true        keeps it unchanged (or through a plain transform: `map_passthrough: upper`)
  map_patterns: {regex: v}     instead of `map:`, for text: the value of the first pattern found in it (tried in
                               order, Python `re.search`), with the same null, map_default and passthrough rules
  uom: {from_unit, to_unit, factors}   quantity conversion; units are codes or {from: path}; factors are numbers
                               or {from: path} (a pack size); `factors:` defaults to the spec's `units:`
  type: str | int | float | decimal | bool | date | datetime   with `places:` (decimal), `format:` (parse) and
                               `output_format:` (render) for dates; output is JSON-ready (decimals as text)
  required: true | default: v  a null or "" value is a MappingError, or is replaced by the default
  omit_null: true              leave the target out when the value is null (spec-wide: `omit_nulls:`)
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crossdock.mapping.checks import RuleContext, check_keys, parse_pipeline, path_at, pattern_at, plain_value
from crossdock.mapping.loader import LineMap
from crossdock.mapping.paths import FieldPath, Step
from crossdock.mapping.transforms import Coercion, Transform
from crossdock.mapping.uom import UomConversion

RULE_KEYS = (
    "from",
    "const",
    "expr",
    "each",
    "fields",
    "transform",
    "map",
    "map_default",
    "map_passthrough",
    "map_patterns",
    "uom",
    "type",
    "format",
    "output_format",
    "places",
    "required",
    "default",
    "omit_null",
    "when",
    "when_matches",
    "else",
)
_SOURCE_KEYS = ("from", "const", "expr", "each")


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One target field: where its value comes from and what happens to it on the way."""

    target: FieldPath
    location: str
    source: tuple[FieldPath, ...] = ()
    many: bool = False
    expr: str | None = None
    has_const: bool = False
    const: Any = None
    each: FieldPath | None = None
    rules: tuple[FieldRule, ...] = ()
    transforms: tuple[Transform, ...] = ()
    value_map: Mapping[Any, Any] | None = None
    value_patterns: tuple[tuple[re.Pattern[str], Any], ...] | None = None
    has_map_default: bool = False
    map_default: Any = None
    map_passthrough: bool = False
    passthrough_transform: Transform | None = None
    uom: UomConversion | None = None
    coercion: Coercion | None = None
    required: bool = False
    has_default: bool = False
    default: Any = None
    omit_null: bool = False
    when: FieldPath | None = None
    when_matches: re.Pattern[str] | None = None
    has_else: bool = False
    else_value: Any = None

    @property
    def source_text(self) -> str:
        """How the value is found, for error messages."""
        if self.each is not None:
            return self.each.text
        if self.expr is not None:
            return f"expr {self.expr!r}"
        if self.has_const:
            return "const"
        if self.many:
            return "[" + ", ".join(path.text for path in self.source) + "]"
        return self.source[0].text

    @property
    def source_is_path(self) -> bool:
        """True when the value is read from a single path (so nested error paths can be joined with a dot)."""
        return self.expr is None and not self.has_const and not self.many


def parse_rule(ctx: RuleContext, target_text: Any, body: Any, line: int) -> FieldRule:
    """Validate one `fields:` entry; a bare string is short for `{from: <path>}`."""
    target = _parse_target(ctx, target_text, line)
    if isinstance(body, str):
        return FieldRule(
            target, f"{ctx.origin}:{line}", source=(path_at(ctx, body, line, "path"),), omit_null=ctx.omit_nulls
        )
    if not isinstance(body, LineMap):
        raise ctx.error(
            line,
            f"field {target.text!r} must be a source path or a mapping, got {body!r}",
            "write `{from: Path}`, `{const: value}`, `{expr: ...}` or `{each: Path, fields: {...}}`",
        )
    check_keys(ctx, body, RULE_KEYS, f"field {target.text!r}")
    fields: dict[str, Any] = {"target": target, "location": f"{ctx.origin}:{line}"}
    fields.update(_parse_source(ctx, target, body, line))
    fields.update(parse_pipeline(ctx, body))
    for flag in ("required", "omit_null"):
        if flag in body and not isinstance(body[flag], bool):
            raise ctx.error(body.line_of(flag), f"{flag} must be true or false, got {body[flag]!r}")
    fields["required"] = body.get("required", False)
    fields["omit_null"] = body.get("omit_null", ctx.omit_nulls)
    fields.update(_parse_conditions(ctx, body))
    if "default" in body:
        at = body.line_of("default")
        if fields["required"]:
            raise ctx.error(at, "a required field cannot have a default", "drop one of them")
        fields.update(has_default=True, default=plain_value(ctx, body["default"], at, "default"))
    return FieldRule(**fields)


def _parse_conditions(ctx: RuleContext, body: LineMap) -> dict[str, Any]:
    """`when:`, `when_matches:` and the `else:` value a field takes when they do not hold."""
    at = body.line_of
    fields: dict[str, Any] = {}
    for key in ("when", "when_matches"):
        if key in body and "each" in body:
            raise ctx.error(at(key), f"`{key}:` applies to value fields, not list mappings")
    if "when" in body:
        fields["when"] = path_at(ctx, body["when"], at("when"), "when path")
    if "when_matches" in body:
        if "from" not in body or isinstance(body["from"], list):
            raise ctx.error(at("when_matches"), "`when_matches:` tests the value of one `from:` path", "add one")
        fields["when_matches"] = pattern_at(ctx, body["when_matches"], at("when_matches"), "when_matches")
    if "else" in body:
        if "when" not in body and "when_matches" not in body:
            raise ctx.error(at("else"), "`else:` without a condition", "add `when:` or `when_matches:`")
        fields.update(has_else=True, else_value=plain_value(ctx, body["else"], at("else"), "else"))
    return fields


def _parse_target(ctx: RuleContext, text: Any, line: int) -> FieldPath:
    target = path_at(ctx, text, line, "target field")
    if target.steps[-1].kind == "select":
        raise ctx.error(line, f"target {target.text!r} ends in a selector", "name the field to set inside it")
    if any(step.values for step in target.steps):
        raise ctx.error(line, f"target {target.text!r} has an `in` selector", "a target selector names one value")
    if any(step.kind == "index" and step.index < 0 for step in target.steps):
        raise ctx.error(line, f"target {target.text!r} has a negative index", "use 0, 1, ... in target paths")
    for before, after in itertools.pairwise(target.steps):
        if before.kind != "key" and after.kind != "key":
            raise ctx.error(line, f"target {target.text!r} puts a list inside a list", "use an `expr:` for that")
        if before.kind == "select" and after.key == before.key:
            raise ctx.error(
                line, f"target {target.text!r} sets {before.key!r}, which its selector already sets", "remove it"
            )
    return target


def _parse_source(ctx: RuleContext, target: FieldPath, body: LineMap, line: int) -> dict[str, Any]:
    sources = [key for key in _SOURCE_KEYS if key in body]
    if len(sources) != 1:
        raise ctx.error(line, f"field {target.text!r} needs exactly one of from, const, expr, each; got {sources}")
    kind, at = sources[0], body.line_of(sources[0])
    if kind == "from":
        return _parse_from(ctx, body["from"], at)
    if kind == "const":
        return {"has_const": True, "const": plain_value(ctx, body["const"], at, "const")}
    if kind == "expr":
        return {"expr": _parse_expr(ctx, body["expr"], at)}
    return _parse_each(ctx, target, body)


def _parse_from(ctx: RuleContext, value: Any, line: int) -> dict[str, Any]:
    if isinstance(value, list):
        if not value:
            raise ctx.error(line, "`from:` list is empty", "give one or more paths")
        return {"source": tuple(path_at(ctx, item, line, "path") for item in value), "many": True}
    return {"source": (path_at(ctx, value, line, "path"),)}


def _parse_expr(ctx: RuleContext, value: Any, line: int) -> str:
    import jsonata

    if not isinstance(value, str) or not value.strip():
        raise ctx.error(line, "`expr:` must be a JSONata expression as text")
    try:
        jsonata.Jsonata(value)
    except Exception as exc:  # noqa: BLE001 - any parser failure is a spec error
        raise ctx.error(line, f"invalid JSONata expression: {exc}", "check the expression at try.jsonata.org") from None
    return value


def parse_fields(ctx: RuleContext, value: Any, line: int) -> tuple[FieldRule, ...]:
    """Validate a `fields:` mapping (of a spec or of a list mapping) and check its targets do not collide."""
    if not isinstance(value, LineMap) or not value:
        raise ctx.error(line, "`fields:` must be a non-empty mapping of target field to rule")
    rules = tuple(parse_rule(ctx, target, body, value.line_of(target)) for target, body in value.items())
    leaves: dict[tuple[Step, ...], FieldRule] = {}
    containers: dict[tuple[Step, ...], tuple[str, FieldRule]] = {}
    for rule in rules:
        steps = rule.target.steps
        line_of_rule = int(rule.location.rsplit(":", 1)[1])
        clash = leaves.get(steps) or (containers[steps][1] if steps in containers else None)
        for size in range(1, len(steps)):
            # A list is addressed by index or by one selector key, so a selected element is never also an
            # indexed one; compiled code relies on it to create each selected element once.
            following = steps[size]
            child = {"key": "object", "index": "index"}.get(following.kind, f"select:{following.key}")
            prefix = steps[:size]
            known = containers.setdefault(prefix, (child, rule))
            clash = clash or leaves.get(prefix) or (known[1] if known[0] != child else None)
        if clash is not None:
            raise ctx.error(
                line_of_rule,
                f"target {rule.target.text!r} collides with {clash.target.text!r} at {clash.location}",
                "a field is a value, an object or a list, and a list is addressed by index or by one selector key",
            )
        leaves[steps] = rule
    return rules


def _parse_each(ctx: RuleContext, target: FieldPath, body: LineMap) -> dict[str, Any]:
    line = body.line_of("each")
    if not target.plain:
        raise ctx.error(line, f"the target of a list mapping must be plain keys, got {target.text!r}")
    for key in ("transform", "map", "map_patterns", "uom", "type"):
        if key in body:
            raise ctx.error(body.line_of(key), f"`{key}:` cannot apply to a list mapping", "put it on its fields")
    if "fields" not in body:
        raise ctx.error(line, "a list mapping (`each:`) needs `fields:`", "map each element's fields under it")
    if "default" in body and not isinstance(body["default"], list):
        raise ctx.error(body.line_of("default"), "the default of a list mapping must be a list, such as []")
    path = path_at(ctx, body["each"], line, "each path")
    return {"each": path, "rules": parse_fields(ctx, body["fields"], body.line_of("fields"))}
