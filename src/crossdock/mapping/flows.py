"""The mapping engine as flows use it: a record mapper per (system, entity) and direction, or None for identity.

`CatalogMappings` fits the `Mappings` protocol of `crossdock.sync.mappings` by shape (the mapping layer sits below
sync and does not import it). A system with no spec for an entity is taken to speak the canonical shape already.
Mappers raise `MappingError`, a ValueError, which flows quarantine as a data-quality exception.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from crossdock.mapping.catalog import MappingCatalog
from crossdock.mapping.spec import Direction

RecordMapper = Callable[[dict[str, Any]], dict[str, Any]]


class CatalogMappings:
    """Record mappers from a MappingCatalog, looked up by system and entity."""

    def __init__(self, catalog: MappingCatalog) -> None:
        self.catalog = catalog

    @classmethod
    def from_directory(cls, path: str | Path) -> CatalogMappings:
        """Load and compile `<path>/<system>/<entity>.<direction>.yaml`; a bad spec raises SpecError."""
        return cls(MappingCatalog.from_directory(path))

    def inbound(self, system: str, entity: str) -> RecordMapper | None:
        """System shape → canonical, or None when the catalog has no inbound spec for it."""
        return self._mapper(system, entity, Direction.INBOUND)

    def outbound(self, system: str, entity: str) -> RecordMapper | None:
        """Canonical → system shape, or None when the catalog has no outbound spec for it."""
        return self._mapper(system, entity, Direction.OUTBOUND)

    def _mapper(self, system: str, entity: str, direction: Direction) -> RecordMapper | None:
        key = (system, entity, direction.value)
        return self.catalog.get(*key).apply if key in self.catalog else None
