"""Errors of the mapping engine: a bad spec (found at load) and a record that cannot be mapped (a data error).

Both carry `.location` (`file:line` of the spec rule) and `.hint` (what to do), so callers show a one-line message
instead of a traceback.
"""

from __future__ import annotations


class SpecError(Exception):
    """A mapping spec is invalid; raised at load time with the spec's `file:line` and how to fix it."""

    def __init__(self, location: str, problem: str, hint: str = "") -> None:
        self.location = location
        self.problem = problem
        self.hint = hint
        super().__init__(location, problem, hint)  # the constructor's arguments, so the error pickles

    def __str__(self) -> str:
        text = f"{self.location}: {self.problem}"
        return f"{text}; {self.hint}" if self.hint else text


class MappingNotFoundError(LookupError):
    """No mapping spec is loaded for a (system, entity, direction)."""

    def __init__(self, key: tuple[str, str, str], known: list[tuple[str, str, str]]) -> None:
        self.key = key
        self.hint = (
            "known mappings: " + ", ".join("/".join(k) for k in known)
            if known
            else "no mapping specs are loaded; check the directory given to MappingCatalog.from_directory"
        )
        self.location = "/".join(key)
        super().__init__(key, known)

    def __str__(self) -> str:
        return f"no mapping for {self.location}; {self.hint}"


class MappingError(ValueError):
    """A record could not be mapped: a data error naming the spec rule, the field path and the record."""

    def __init__(
        self,
        location: str,
        field: str,
        source: str,
        hint: str,
        record_id: str | None = None,
        *,
        source_is_path: bool = True,
    ) -> None:
        self.location = location
        self.field = field
        self.source = source
        self.hint = hint
        self.record_id = record_id
        self.source_is_path = source_is_path
        super().__init__(location, field, source, hint, record_id)

    def __str__(self) -> str:
        parts = [self.location]
        if self.field:
            parts.append(f"field {self.field!r}" + (f" (from {self.source})" if self.source else ""))
        if self.record_id is not None:
            parts[-1] += f" of record {self.record_id!r}" if self.field else f" record {self.record_id!r}"
        return ": ".join([*parts, self.hint])

    def nest(self, field: str, source: str, index: int) -> None:
        """Prefix the paths with the list element this error happened in (`contacts[2].email`)."""
        self.field = f"{field}[{index}].{self.field}" if self.field else f"{field}[{index}]"
        if not self.source:
            self.source = f"{source}[{index}]"
        elif self.source_is_path:
            self.source = f"{source}[{index}].{self.source}"
        else:
            self.source = f"{source}[{index}]: {self.source}"


class DataError(ValueError):
    """Raised by runtime helpers for a value they cannot handle; turned into a MappingError for the rule."""
