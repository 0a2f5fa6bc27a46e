"""The mapping engine: declarative YAML specs between a system's shape and the canonical model."""
