"""YAML loading that remembers the line of every mapping key, so spec errors can say `file:line`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from crossdock.mapping.errors import SpecError

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineMap(dict[Any, Any]):
    """A YAML mapping that knows its own line and the line of each key (1-based)."""

    line: int
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        """The line of `key`, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)


class _LineLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """A SafeLoader whose mappings are LineMaps and which rejects duplicate keys."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> LineMap:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, found {type(node).__name__}", node.start_mark
            )
        self.flatten_mapping(node)
        result = LineMap()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value, not a list or mapping", key_node.start_mark
                ) from None
            if key in result:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first at line {result.key_lines[key]}); remove one of them",
                    key_node.start_mark,
                )
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> LineMap:
    return loader.construct_mapping(node, deep=True)


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML text into plain values whose mappings are LineMaps; syntax errors become SpecError."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader is a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        hint = "" if isinstance(exc, yaml.constructor.ConstructorError) else "fix the YAML syntax"
        raise SpecError(f"{source}:{line}", f"invalid YAML: {problem}", hint) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}:1", f"invalid YAML: {exc}", "fix the YAML syntax") from None


def load_yaml_file(path: Path) -> Any:
    """Read and parse a YAML file; an unreadable file is a SpecError too."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}:1", f"cannot read the spec: {exc}", "check the path and that it is UTF-8") from None
    return load_yaml(text, str(path))
