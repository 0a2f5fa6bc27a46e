"""The mapping engine: declarative YAML specs between a system's record shape and the canonical shape.

Load a spec with `MappingSpec.load(path)`, compile it with `compile_spec(spec)` and map with
`.apply(record)` / `.apply_many(records)`; `MappingCatalog.from_directory(path)` does both for a folder of specs.
The spec format is described in `crossdock.mapping.spec`, the folder layout in `crossdock.mapping.catalog`.
"""

from crossdock.mapping.catalog import MappingCatalog
from crossdock.mapping.compiler import BatchResult, CompiledMapping, compile_spec
from crossdock.mapping.errors import MappingError, MappingNotFoundError, SpecError
from crossdock.mapping.spec import Direction, MappingSpec

__all__ = [
    "BatchResult",
    "CompiledMapping",
    "Direction",
    "MappingCatalog",
    "MappingError",
    "MappingNotFoundError",
    "MappingSpec",
    "SpecError",
    "compile_spec",
]
