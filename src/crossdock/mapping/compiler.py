"""Compile a spec to Python (see `codegen`), once per spec, and run it: `CompiledMapping.apply` and friends."""

from __future__ import annotations

import bisect
import functools
import itertools
import linecache
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from crossdock.mapping import interpreter
from crossdock.mapping.codegen import Generator
from crossdock.mapping.errors import MappingError
from crossdock.mapping.paths import (
    index_step,
    put_path,
    select_all,
    select_all_in,
    select_first,
    select_first_in,
    slot,
)
from crossdock.mapping.rules import FieldRule
from crossdock.mapping.spec import MappingSpec

Record = dict[str, Any]
_MISSING = object()
_counter = itertools.count()


class _CheckFailedError(Exception):
    """Generated code raises this for a failed check; `interpreter.diagnose` then writes the message."""


@dataclass(slots=True)
class BatchResult:
    """The outcome of mapping a batch: mapped records and failed ones, each with its index in the input."""

    mapped: list[tuple[int, Record]] = field(default_factory=list)
    failed: list[tuple[int, MappingError]] = field(default_factory=list)


class CompiledMapping:
    """A spec compiled to Python; `apply` maps one record, `apply_many` a list."""

    def __init__(self, spec: MappingSpec, source: str, function: Callable[[Any], Record]) -> None:
        self.spec = spec
        self.source = source
        self._function = function

    @property
    def key(self) -> tuple[str, str, str]:
        """The catalog key `(system, entity, direction)`."""
        return self.spec.key

    def apply(self, record: Any) -> Record:
        """Map one record; raises MappingError for a record the spec cannot map."""
        return self._function(record)

    def apply_many(self, records: Iterable[Any]) -> list[Record]:
        """Map records; the first record that cannot be mapped raises MappingError."""
        function = self._function
        return [function(record) for record in records]

    def apply_batch(self, records: Iterable[Any]) -> BatchResult:
        """Map records, collecting failures instead of stopping, so one bad record does not hold up the batch."""
        function, result = self._function, BatchResult()
        for position, record in enumerate(records):
            try:
                result.mapped.append((position, function(record)))
            except MappingError as exc:
                result.failed.append((position, exc))
        return result

    def __repr__(self) -> str:
        return f"<CompiledMapping {'/'.join(self.key)} from {self.spec.origin}>"


def compile_spec(spec: MappingSpec) -> CompiledMapping:
    """Generate, compile and load the Python code for a spec."""
    namespace: dict[str, Any] = {
        "_Fail": _CheckFailedError,
        "_MISSING": _MISSING,
        "_copy": interpreter.copied,
        "_index": index_step,
        "_select": select_first,
        "_select_all": select_all,
        "_select_in": select_first_in,
        "_select_all_in": select_all_in,
        "_put": put_path,
        "_slot": slot,
        "_each": _each,
        "_not_record": functools.partial(interpreter.not_a_record, spec),
    }

    def fail_factory(rules: tuple[FieldRule, ...], starts: list[int], root: bool) -> Callable[..., MappingError]:
        return functools.partial(_fail, rules, starts, spec if root else None)

    generator = Generator(namespace, fail_factory)
    root = generator.function(spec.rules, root=True)
    source = "\n".join(generator.lines) + "\n"
    filename = f"<mapping {'/'.join(spec.key)} {spec.origin} #{next(_counter)}>"
    # Registered so a traceback through generated code (a bug, never a data error) shows the generated lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - generated from a validated spec, see codegen
    return CompiledMapping(spec, source, namespace[root])


def _fail(
    rules: tuple[FieldRule, ...], starts: list[int], spec: MappingSpec | None, exc: Exception, record: Any
) -> MappingError:
    """Turn whatever generated code raised into the MappingError the reference semantics give."""
    if isinstance(exc, MappingError):
        error: MappingError | None = exc
    else:
        line = exc.__traceback__.tb_lineno if exc.__traceback__ is not None else 0
        position = max(bisect.bisect_right(starts, line) - 1, 0)
        error = interpreter.diagnose(rules[position], record)
    if error is None:
        raise exc  # the reference semantics accept the record: a compiler bug, so keep the real traceback
    if spec is not None and error.record_id is None:
        error.record_id = interpreter.record_id(spec, record)
    return error


def _each(function: Callable[[Record], Record], items: Any, rule: FieldRule) -> list[Record]:
    """Map a list element by element, naming the element that fails (the slow path of a list mapping)."""
    interpreter.check_list(rule, items)
    mapped: list[Record] = []
    for position, item in enumerate(items):
        interpreter.check_element(rule, item, position)
        try:
            mapped.append(function(item))
        except MappingError as exc:
            assert rule.each is not None  # only list mappings are compiled to _each calls
            exc.nest(rule.target.text, rule.each.text, position)
            raise
    return mapped
