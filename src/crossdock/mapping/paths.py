"""Field paths into nested records: `BillingAddress.street`, `addresses[0].city`, `addresses[kind=bill_to].city`.

Syntax: dot-separated keys; a key may be followed by `[n]` (list index, negative counts from the end),
`[key=value]` (the first list element whose `key` equals `value`; quotes around the value are optional) or
`[key in (a, b, c)]` (the first element whose `key` equals any of the comma-separated values; source paths only:
`identifiers[scheme in (tax_id, ein, vat)].value`). Keys are any text without `.`, `[`, `]`; selector values are
compared as text (numbers and booleans as their JSON text). In an `each:` path a selector in the last step keeps
every matching element.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from crossdock.mapping.errors import DataError

_KEY = r"[^.\[\]]+"
_STEP_RE = re.compile(rf"(?P<key>{_KEY})?(?P<brackets>(?:\[[^\[\]]*\])*)")
_BRACKET_RE = re.compile(r"\[([^\[\]]*)\]")
_INDEX_RE = re.compile(r"-?\d+")
_IN_RE = re.compile(r"(?P<key>[^=]+?)\s+in\s*\((?P<values>[^()]*)\)")


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a path: a dict key, a list index, or a selector on a list (`[key=value]`, `[key in (a, b)]`).

    A `[key=value]` selector has `value`; a `[key in (...)]` selector has `values` (and no `value`).
    """

    kind: Literal["key", "index", "select"]
    key: str = ""
    index: int = 0
    value: str = ""
    values: tuple[str, ...] = ()

    def text(self) -> str:
        """The step as written in a spec."""
        if self.kind == "key":
            return self.key
        if self.kind == "index":
            return f"[{self.index}]"
        if self.values:
            return f"[{self.key} in ({', '.join(self.values)})]"
        return f"[{self.key}={self.value}]"


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A parsed field path."""

    text: str
    steps: tuple[Step, ...]

    @property
    def plain(self) -> bool:
        """True when every step is a dict key (no index or selector)."""
        return all(step.kind == "key" for step in self.steps)


def parse_path(text: str) -> FieldPath:
    """Parse a path; raises ValueError with a reason the spec loader turns into a SpecError."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a field path must be non-empty text such as `BillingAddress.street`")
    if text != text.strip():
        raise ValueError(f"path {text!r} has leading or trailing spaces")
    steps: list[Step] = []
    for segment in text.split("."):
        match = _STEP_RE.fullmatch(segment)
        if not segment or match is None or match.group("key") is None:
            raise ValueError(f"path {text!r}: each dot-separated part must start with a key, got {segment!r}")
        key = match.group("key")
        if key != key.strip():
            raise ValueError(f"path {text!r}: key {key!r} has leading or trailing spaces")
        steps.append(Step("key", key=key))
        steps.extend(_parse_bracket(text, inner) for inner in _BRACKET_RE.findall(match.group("brackets")))
    return FieldPath(text, tuple(steps))


def _parse_bracket(text: str, inner: str) -> Step:
    inner = inner.strip()
    if _INDEX_RE.fullmatch(inner):
        return Step("index", index=int(inner))
    listed = _IN_RE.fullmatch(inner)
    if listed is not None:
        values = tuple(_unquote(value.strip()) for value in listed["values"].split(","))
        if not all(values):
            raise ValueError(f"path {text!r}: `[{inner}]` must list values like `[scheme in (ein, vat)]`")
        return Step("select", key=listed["key"].strip(), values=values)
    key, sep, value = inner.partition("=")
    key, value = key.strip(), _unquote(value.strip())
    if not sep or not key or not value:
        raise ValueError(f"path {text!r}: `[{inner}]` must be an index like `[0]` or a selector like `[kind=bill_to]`")
    return Step("select", key=key, value=value)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def matches(element: Any, key: str, value: str) -> bool:
    """True when a list element is an object whose `key` equals the selector value (compared as text)."""
    if not isinstance(element, dict):
        return False
    found = element.get(key)
    if found is None:
        return False
    if isinstance(found, str):
        return found == value
    if isinstance(found, bool):
        return ("true" if found else "false") == value
    if isinstance(found, int):
        return str(found) == value
    return False


def matches_any(element: Any, key: str, values: frozenset[str]) -> bool:
    """True when a list element is an object whose `key` equals one of the selector values (compared as text)."""
    if not isinstance(element, dict):
        return False
    return _selector_text(element.get(key)) in values


def _selector_text(found: Any) -> str | None:
    """A field value as selectors compare it (as `matches` does): text as is, booleans and ints as JSON text."""
    if isinstance(found, str):
        return found
    if isinstance(found, bool):
        return "true" if found else "false"
    if isinstance(found, int):
        return str(found)
    return None


def index_step(container: Any, index: int) -> Any:
    """The element at `index` of a list; None when the list is missing or too short."""
    if container is None:
        return None
    if not isinstance(container, list):
        raise DataError(f"expected a list before [{index}], got {_type_name(container)}")
    if -len(container) <= index < len(container):
        return container[index]
    return None


def select_first(container: Any, key: str, value: str) -> Any:
    """The first element of a list whose `key` equals `value`; None when there is none."""
    if container is None:
        return None
    if not isinstance(container, list):
        raise DataError(f"expected a list before [{key}={value}], got {_type_name(container)}")
    for element in container:
        if matches(element, key, value):
            return element
    return None


def select_all(container: Any, key: str, value: str) -> Any:
    """Every element of a list whose `key` equals `value` (for `each:` paths)."""
    if container is None:
        return None
    if not isinstance(container, list):
        raise DataError(f"expected a list before [{key}={value}], got {_type_name(container)}")
    return [element for element in container if matches(element, key, value)]


def select_first_in(container: Any, key: str, values: frozenset[str]) -> Any:
    """The first element of a list whose `key` equals one of `values`; None when there is none."""
    if container is None:
        return None
    if not isinstance(container, list):
        raise DataError(f"expected a list before [{key} in ({', '.join(sorted(values))})], got {_type_name(container)}")
    for element in container:
        if matches_any(element, key, values):
            return element
    return None


def select_all_in(container: Any, key: str, values: frozenset[str]) -> Any:
    """Every element of a list whose `key` equals one of `values` (for `each:` paths)."""
    if container is None:
        return None
    if not isinstance(container, list):
        raise DataError(f"expected a list before [{key} in ({', '.join(sorted(values))})], got {_type_name(container)}")
    return [element for element in container if matches_any(element, key, values)]


def get_path(record: Any, path: FieldPath, *, select_many: bool = False) -> Any:
    """Read a path from a record; missing keys give None, a wrong shape raises DataError naming the step."""
    current = record
    last = len(path.steps) - 1
    for position, step in enumerate(path.steps):
        if current is None:
            return None
        if step.kind == "key":
            if not isinstance(current, dict):
                done = ".".join(s.text() for s in path.steps[:position]).replace(".[", "[") or "the record"
                raise DataError(f"expected an object at {done!r}, got {_type_name(current)}")
            current = current.get(step.key)
        elif step.kind == "index":
            current = index_step(current, step.index)
        elif step.values:
            accepted = frozenset(step.values)
            many = select_many and position == last
            current = (select_all_in if many else select_first_in)(current, step.key, accepted)
        elif select_many and position == last:
            current = select_all(current, step.key, step.value)
        else:
            current = select_first(current, step.key, step.value)
    return current


def locate(target: dict[str, Any], steps: tuple[Step, ...], then: Step | None = None) -> Any:
    """The object or list at `steps` in an output dict, created as needed; `then` is the step that will follow.

    Target paths never have two list steps in a row (the spec loader checks), so list elements are objects.
    """
    current: Any = target
    for position, step in enumerate(steps):
        following = steps[position + 1] if position + 1 < len(steps) else then
        if step.kind == "key":
            current = current.setdefault(step.key, [] if following is not None and following.kind != "key" else {})
        elif step.kind == "index":
            current = slot(current, step.index)
        else:
            current = _find_or_add(current, step)
    return current


def slot(elements: list[Any], index: int) -> Any:
    """The object at `index` of an output list, padding the list with empty objects up to it."""
    while len(elements) <= index:
        elements.append({})
    if elements[index] is None:
        elements[index] = {}
    return elements[index]


def _find_or_add(elements: list[Any], step: Step) -> dict[str, Any]:
    for element in elements:
        if matches(element, step.key, step.value):
            return element  # type: ignore[no-any-return]
    element = {step.key: step.value}
    elements.append(element)
    return element


def put_path(target: dict[str, Any], steps: tuple[Step, ...], value: Any) -> None:
    """Write a value at a target path (which ends in a key or an index), creating what is missing on the way."""
    parent = locate(target, steps[:-1], steps[-1])
    last = steps[-1]
    if last.kind == "key":
        parent[last.key] = value
        return
    while len(parent) <= last.index:
        parent.append(None)
    parent[last.index] = value
