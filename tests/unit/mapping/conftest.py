"""Helpers for mapping tests: specs from inline YAML, compiled and checked against the reference interpreter."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from crossdock.mapping import CompiledMapping, MappingError, MappingSpec, compile_spec
from crossdock.mapping.interpreter import interpret

SPECS = Path(__file__).parent / "specs"
HEADER = "system: test\nentity: thing\ndirection: inbound\n"


def parse(body: str, *, header: str = HEADER, origin: str = "thing.yaml") -> MappingSpec:
    """A spec from YAML text (dedented), with a default header."""
    return MappingSpec.parse(header + textwrap.dedent(body), origin)


def compiled(body: str, **kwargs: Any) -> CompiledMapping:
    """A compiled spec from YAML text."""
    return compile_spec(parse(body, **kwargs))


def both(mapping: CompiledMapping, record: Any) -> Any:
    """Map with the compiled code and the interpreter; they must agree (result or error) and the result is returned."""
    try:
        expected: Any = interpret(mapping.spec, record)
    except MappingError as exc:
        expected = exc
    try:
        actual: Any = mapping.apply(record)
    except MappingError as exc:
        actual = exc
    if isinstance(expected, MappingError):
        assert isinstance(actual, MappingError), f"compiled code mapped a record the interpreter rejects: {actual}"
        assert str(actual) == str(expected)
    else:
        assert actual == expected
    if isinstance(actual, MappingError):
        raise actual
    return actual


@pytest.fixture
def map_one() -> Any:
    """`map_one(spec_body, record)` maps one record through compiled code and the interpreter."""

    def run(body: str, record: Any) -> Any:
        return both(compiled(body), record)

    return run
