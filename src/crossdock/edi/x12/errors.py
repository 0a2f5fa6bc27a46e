"""Typed errors for X12 input: every problem found in a file is an `X12Error` that says where and what to do."""

from __future__ import annotations


class X12Error(Exception):
    """A problem with X12 input or output; `position` is the segment's ordinal in the stream (1 = first ISA)."""

    def __init__(self, message: str, *, position: int | None = None, segment_id: str | None = None) -> None:
        self.message = message
        self.position = position
        self.segment_id = segment_id
        where = ""
        if segment_id is not None or position is not None:
            parts = [p for p in (segment_id, f"segment {position}" if position is not None else None) if p]
            where = f" ({', '.join(parts)})"
        super().__init__(f"{message}{where}")


class X12SyntaxError(X12Error):
    """The bytes are not X12: no ISA where one must be, an ISA too short to carry its delimiters, bad encoding."""


class X12EnvelopeError(X12Error):
    """An envelope rule is broken (control numbers, counts, ISA widths, a missing trailer); raised in strict mode."""


class X12ValidationError(X12Error):
    """A transaction set breaks its specification; `findings` lists every problem, as a 997 would report them."""

    def __init__(self, message: str, findings: list[object], *, position: int | None = None) -> None:
        super().__init__(message, position=position)
        self.findings = findings


class X12UnsupportedError(X12Error):
    """A transaction set or version this toolkit has no specification or mapping for."""


class X12MappingError(X12Error):
    """A transaction set parsed, but lacks or garbles a value the canonical model needs."""


class X12WriteError(X12Error):
    """A value cannot be written as X12 (it holds a delimiter, or it is too long for its element)."""
