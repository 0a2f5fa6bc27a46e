"""The reference semantics of a spec: walk its rules for one record.

The compiler generates code that must give the same result for every record; property tests hold it to that. The
compiled code also asks this module to explain a failure (`diagnose`), so every error message is written here once.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonata

from crossdock.mapping.errors import DataError, MappingError
from crossdock.mapping.paths import get_path, put_path
from crossdock.mapping.rules import FieldRule
from crossdock.mapping.spec import MappingSpec
from crossdock.mapping.transforms import Coercion, Fn, Transform, describe, to_str
from crossdock.model.addresses import e164

_JSON_SCALARS = (str, int, float, bool, type(None))


def _e164(value: Any) -> Any:
    return e164(value) if isinstance(value, str) else value


class Expression:
    """A JSONata expression compiled once; evaluating it returns plain JSON values.

    Besides JSONata's own functions, expressions may call `$e164(number)`: an international phone number in E.164
    (`crossdock.model.addresses.e164`), so that systems formatting one number differently agree on it.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._compiled = jsonata.Jsonata(text)
        self._compiled.register_lambda("e164", _e164)

    def __call__(self, record: dict[str, Any]) -> Any:
        """Evaluate against a record (or a list element)."""
        try:
            # Bindings give each evaluation its own frame; without them the library binds the input in a frame
            # shared by every caller, so two threads would read each other's records.
            result = self._compiled.evaluate(record, {})
        except Exception as exc:  # noqa: BLE001 - the JSONata library raises several types for bad data
            raise DataError(f"the expression failed: {exc}") from None
        return _plain(result)


def _plain(value: Any) -> Any:
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    raise DataError(f"the expression returned {type(value).__name__}, not a JSON value")


@functools.lru_cache(maxsize=512)
def _expression(text: str) -> Expression:
    return Expression(text)


@functools.lru_cache(maxsize=512)
def _transform(transform: Transform) -> Fn:
    return transform.function()


@functools.lru_cache(maxsize=512)
def _coercion(coercion: Coercion) -> Fn:
    return coercion.function()


def rule_error(rule: FieldRule, hint: str) -> MappingError:
    """A MappingError for a rule of a spec."""
    return MappingError(rule.location, rule.target.text, rule.source_text, hint, source_is_path=rule.source_is_path)


def record_id(spec: MappingSpec, record: Any) -> str | None:
    """The record's id for error messages, read leniently (a broken record may have none)."""
    if spec.id_path is None:
        return None
    try:
        found = get_path(record, spec.id_path)
        return to_str(found) if found is not None else None
    except DataError:
        return None


def not_a_record(spec: MappingSpec, record: Any) -> MappingError:
    """The error for a record that is not an object at all."""
    return MappingError(f"{spec.origin}:{spec.line}", "", "", f"a record must be an object, got {describe(record)}")


def copied(value: Any) -> Any:
    """A constant as a fresh value, so callers that change one output cannot change the next."""
    if isinstance(value, list):
        return [copied(item) for item in value]
    if isinstance(value, dict):
        return {key: copied(item) for key, item in value.items()}
    return value


def interpret(spec: MappingSpec, record: Any) -> dict[str, Any]:
    """Map one record by walking the spec."""
    if not isinstance(record, dict):
        raise not_a_record(spec, record)
    try:
        return map_rules(spec.rules, record)
    except MappingError as exc:
        if exc.record_id is None:
            exc.record_id = record_id(spec, record)
        raise


def map_rules(rules: tuple[FieldRule, ...], record: dict[str, Any]) -> dict[str, Any]:
    """Map one object (a record or a list element) with a tuple of rules."""
    target: dict[str, Any] = {}
    for rule in rules:
        value = evaluate_rule(rule, record)
        if value is None and rule.omit_null:
            continue
        put_path(target, rule.target.steps, value)
    return target


def evaluate_rule(rule: FieldRule, record: dict[str, Any]) -> Any:
    """The target value of one rule for one record; a failure is a MappingError naming the rule."""
    try:
        if rule.each is not None:
            return _evaluate_each(rule, record)
        return _evaluate_value(rule, record)
    except DataError as exc:
        raise rule_error(rule, str(exc)) from None


def diagnose(rule: FieldRule, record: dict[str, Any]) -> MappingError | None:
    """Explain why compiled code failed on a rule; None when the reference semantics do not fail."""
    try:
        evaluate_rule(rule, record)
    except MappingError as exc:
        return exc
    return None


def _evaluate_value(rule: FieldRule, record: dict[str, Any]) -> Any:
    if rule.when is not None:
        present = get_path(record, rule.when)
        if present is None or present == "":
            return copied(rule.else_value)
    value = _source_value(rule, record)
    if rule.when_matches is not None and not _found(rule.when_matches, value, "when_matches"):
        return copied(rule.else_value)
    for transform in rule.transforms:
        value = _transform(transform)(value)
    if rule.value_map is not None and value is not None:
        value = _translate(rule, value)
    if rule.value_patterns is not None and value is not None:
        value = _classify(rule, value)
    if rule.uom is not None:
        value = rule.uom.convert(value, record)
    if rule.coercion is not None:
        value = _coercion(rule.coercion)(value)
    if value is None or value == "":
        if rule.required:
            raise DataError(missing_hint(rule))
        if rule.has_default:
            return copied(rule.default)
    return value


def _source_value(rule: FieldRule, record: dict[str, Any]) -> Any:
    if rule.has_const:
        return copied(rule.const)
    if rule.expr is not None:
        return _expression(rule.expr)(record)
    if rule.many:
        return [get_path(record, path) for path in rule.source]
    return get_path(record, rule.source[0])


def missing_hint(rule: FieldRule) -> str:
    """The message for a required field without a value."""
    return f"required value is missing; fix the source record or give {rule.target.text!r} a `default:`"


def _translate(rule: FieldRule, value: Any) -> Any:
    assert rule.value_map is not None  # the caller checked
    if isinstance(value, (dict, list)):
        raise DataError(f"`map:` translates codes, got {describe(value)}")
    if value in rule.value_map:
        return rule.value_map[value]
    return _unmapped(rule, value, f"{describe(value)} is not in the value map; add it under `map:`")


def _classify(rule: FieldRule, value: Any) -> Any:
    assert rule.value_patterns is not None  # the caller checked
    for pattern, mapped in rule.value_patterns:
        if _found(pattern, value, "map_patterns"):
            return copied(mapped)
    return _unmapped(rule, value, f"{describe(value)} matches none of `map_patterns:`; add a pattern")


def _found(pattern: re.Pattern[str], value: Any, what: str) -> bool:
    """True when a regular expression finds a match in a text value; null finds none."""
    if value is None:
        return False
    if not isinstance(value, str):
        raise DataError(f"{what} needs text, got {describe(value)}")
    return pattern.search(value) is not None


def _unmapped(rule: FieldRule, value: Any, problem: str) -> Any:
    """A value no entry of a value map covers: kept, replaced by `map_default:`, or an error."""
    if rule.map_passthrough:
        transform = rule.passthrough_transform
        return value if transform is None else _transform(transform)(value)
    if rule.has_map_default:
        return copied(rule.map_default)
    raise DataError(f"{problem}, or set `map_default:` or `map_passthrough:`")


def _evaluate_each(rule: FieldRule, record: dict[str, Any]) -> Any:
    assert rule.each is not None  # the caller checked
    items = get_path(record, rule.each, select_many=True)
    if items is None:
        if rule.required:
            raise DataError(missing_hint(rule))
        return copied(rule.default) if rule.has_default else []
    check_list(rule, items)
    mapped: list[dict[str, Any]] = []
    for position, item in enumerate(items):
        check_element(rule, item, position)
        try:
            mapped.append(map_rules(rule.rules, item))
        except MappingError as exc:
            exc.nest(rule.target.text, rule.each.text, position)
            raise
    return mapped


def check_list(rule: FieldRule, items: Any) -> None:
    """A list mapping's source must be a list."""
    if not isinstance(items, list):
        assert rule.each is not None  # only list mappings call this
        raise DataError(f"expected a list at {rule.each.text!r}, got {describe(items)}")


def check_element(rule: FieldRule, item: Any, position: int) -> None:
    """Each element of a list mapping's source must be an object."""
    if not isinstance(item, dict):
        assert rule.each is not None  # only list mappings call this
        raise DataError(f"element {position} of {rule.each.text!r} must be an object, got {describe(item)}")
