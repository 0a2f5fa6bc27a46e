"""The config file as YAML: a safe loader that refuses duplicate keys, and the line of every key and list item,
so that an error can point at it."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from crossdock.config.errors import ConfigError, Loc
from crossdock.config.sources import CONFIG_ENV_VAR, EXAMPLE_FILE


class _DuplicateKeyError(ConstructorError):
    """A mapping names the same key twice."""


class _LineLoader(yaml.SafeLoader):
    """The safe YAML loader, refusing duplicate keys (PyYAML would silently keep the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        first_line: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # the base class reports unhashable keys
            if key in first_line:
                raise _DuplicateKeyError(
                    None,
                    None,
                    f"key {key!r} appears twice (first on line {first_line[key]})",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _index_lines(loader: _LineLoader, node: yaml.Node, path: Loc, lines: dict[Loc, int], active: set[int]) -> None:
    """Record the line of every key and list item under `node`, by its path in the loaded data."""
    if id(node) in active:  # a recursive alias
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        # After construction, merge keys (`<<: *defaults`) are flattened into node.value ahead of the
        # mapping's own keys; the last occurrence is the one that took effect, as in the loaded dict.
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            child = (*path, key if isinstance(key, str | int) else str(key))
            lines[child] = key_node.start_mark.line + 1
            _index_lines(loader, value_node, child, lines, active)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _index_lines(loader, item, (*path, index), lines, active)
    active.discard(id(node))


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[Loc, int]]:
    """The file's top-level mapping and the line of every key in it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            str(path),
            f"cannot read the config file: {exc.strerror or type(exc).__name__}",
            f"check the path given by --config or {CONFIG_ENV_VAR}; {EXAMPLE_FILE} is a starting point",
        ) from None
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        lines: dict[Loc, int] = {}
        if node is not None:
            _index_lines(loader, node, (), lines, set())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        if isinstance(exc, _DuplicateKeyError):
            hint = "remove one of them (YAML would silently keep only the last)"
        else:
            hint = "check the indentation, quoting and colons on this line and the one before"
        raise ConfigError(f"{path}:{line}", f"not valid YAML: {what}", hint) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}:1", f"not valid YAML: {exc}", "check the file's syntax") from None
    finally:
        loader.dispose()
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}:1",
            f"the file must be a mapping of settings, not a {type(data).__name__}",
            f"start from {EXAMPLE_FILE}",
        )
    return data, lines
