"""The catalog of compiled mappings, loaded from a directory of spec files.

Layout: one file per (system, entity, direction), `<dir>/<system>/<entity>.<direction>.yaml`, for example
`mappings/salesforce/customer.inbound.yaml` and `mappings/salesforce/customer.outbound.yaml`. A connector package
that keeps its own specs flat (`connectors/salesforce/mapping/customer.inbound.yaml`) loads them with
`MappingCatalog.from_directory(path, system="salesforce")`. Every spec is validated and compiled at load, so a bad
spec stops start-up with its `file:line` instead of failing on the first record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from crossdock.mapping.compiler import CompiledMapping, compile_spec
from crossdock.mapping.errors import MappingNotFoundError, SpecError
from crossdock.mapping.spec import Direction, MappingSpec

Key = tuple[str, str, str]


class MappingCatalog:
    """Compiled mappings looked up by (system, entity, direction)."""

    def __init__(self, mappings: Iterable[CompiledMapping] = ()) -> None:
        self._mappings: dict[Key, CompiledMapping] = {}
        for mapping in mappings:
            known = self._mappings.get(mapping.key)
            if known is not None:
                raise SpecError(
                    f"{mapping.spec.origin}:{mapping.spec.line}",
                    f"a second mapping for {'/'.join(mapping.key)}; the first is {known.spec.origin}",
                    "keep one spec per system, entity and direction",
                )
            self._mappings[mapping.key] = mapping

    @classmethod
    def from_directory(cls, path: str | Path, *, system: str | None = None) -> MappingCatalog:
        """Load `<path>/<system>/<entity>.<direction>.yaml`, or `<path>/<entity>.<direction>.yaml` for one system."""
        root = Path(path)
        if not root.is_dir():
            raise SpecError(f"{root}:1", "the mapping directory does not exist", "check the configured path")
        pattern = ("*.yaml", "*.yml") if system else ("*/*.yaml", "*/*.yml")
        files = sorted(file for glob in pattern for file in root.glob(glob))
        return cls(compile_spec(MappingSpec.load(file, system=system)) for file in files)

    @classmethod
    def combine(cls, *catalogs: MappingCatalog) -> MappingCatalog:
        """One catalog holding the mappings of several (for example one per connector)."""
        return cls(mapping for catalog in catalogs for mapping in catalog)

    def get(self, system: str, entity: str, direction: Direction | str) -> CompiledMapping:
        """The mapping for a system's entity in a direction; raises MappingNotFoundError naming what is loaded."""
        key = (system, entity, str(direction))
        mapping = self._mappings.get(key)
        if mapping is None:
            raise MappingNotFoundError(key, sorted(self._mappings))
        return mapping

    def __contains__(self, key: object) -> bool:
        return key in self._mappings

    def __iter__(self) -> Iterator[CompiledMapping]:
        return iter(self._mappings.values())

    def __len__(self) -> int:
        return len(self._mappings)

    def keys(self) -> list[Key]:
        """The loaded (system, entity, direction) keys, sorted."""
        return sorted(self._mappings)
