"""Streaming X12 tokenizer: reads delimiters from each ISA and cuts a byte stream into clean segment text.

The stream is read in chunks (constant memory); each chunk is decoded once and cut with `str` methods that run in
C (`split`, `find`, `replace`), never character by character. What comes out are `InterchangeStart` events and
`SegmentText` pieces: whole segments, each followed by the terminator, with CR/LF, stray whitespace between
segments and empty segments removed. A segment that straddles two chunks is carried over to the next piece.
Several interchanges may follow one another, each with its own delimiters.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from crossdock.edi.x12.errors import X12SyntaxError

Segment = list[str]
"""One segment: the tag, then its elements (`["PO1", "1", "12", "EA"]`); composites stay joined by their separator."""


def ascii_digits(text: str) -> bool:
    """True for a non-empty run of 0-9 (`str.isdigit` also accepts `²` and other digits `int` refuses)."""
    return text.isascii() and text.isdigit()


ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
"""Fixed widths of ISA01..ISA16."""
ISA_LENGTH = 106
"""The ISA segment's length including its terminator."""
DEFAULT_CHUNK_SIZE = 1 << 20


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The separators of one interchange, as its ISA declares them."""

    element: str = "*"
    component: str = ">"
    segment: str = "~"
    repetition: str | None = None
    """ISA11 from version 00402 on (often `^`); None where ISA11 is the standards identifier `U`."""

    def check(self) -> None:
        """Raise X12SyntaxError if two delimiters coincide or one is a letter or digit."""
        chosen = [self.element, self.component, self.segment] + ([self.repetition] if self.repetition else [])
        if len(set(chosen)) != len(chosen):
            raise X12SyntaxError(f"delimiters {chosen!r} are not distinct; each separator must be its own character")
        for char in chosen:
            if len(char) != 1 or char.isalnum():
                raise X12SyntaxError(
                    f"delimiter {char!r} is a letter, a digit or not one character; check the ISA segment's "
                    "4th character, ISA16 and the character after it"
                )


@dataclass(slots=True)
class InterchangeStart:
    """An ISA segment was read: its elements, delimiters, position and any width anomalies."""

    delimiters: Delimiters
    isa: Segment
    anomalies: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SegmentText:
    """Whole segments of the current interchange, each followed by the terminator, CR/LF and padding removed."""

    text: str
    """Never holds an empty segment: doubled terminators are collapsed."""
    ends_interchange: bool
    """True when the text reaches the interchange's end (its IEA, or the end of the stream without one)."""
    truncated: bool = False
    """True when the stream ended before an IEA."""


def _isa_fields(text: str, start: int, sep: str) -> tuple[list[str], int] | None:
    """ISA01..ISA16 and the index just past ISA16's first character, found by counting separators."""
    index = start + 3
    starts = []
    for _ in range(16):
        if index >= len(text) or text[index] != sep:
            return None
        starts.append(index + 1)
        index = text.find(sep, index + 1) if len(starts) < 16 else index + 2
        if index == -1:
            return None
    values = [text[s : text.find(sep, s)] for s in starts[:15]]
    values.append(text[starts[15] : starts[15] + 1])
    return values, starts[15] + 1


def parse_isa(text: str, start: int, *, at_eof: bool) -> tuple[InterchangeStart, int] | None:
    """Read the ISA beginning at `start`; None if more text is needed, the index after its terminator otherwise."""
    if len(text) - start < 4:
        if at_eof:
            raise X12SyntaxError("the stream ends inside an ISA segment; the file is truncated")
        return None
    sep = text[start + 3]
    if sep.isalnum() or sep.isspace():
        raise X12SyntaxError(f"ISA is followed by {sep!r}, not an element separator; is this an X12 file?")
    anomalies: list[str] = []
    fixed = text[start : start + ISA_LENGTH]
    if len(fixed) == ISA_LENGTH and fixed.count(sep, 0, 104) == 16 and fixed[103] == sep:
        values = [*fixed[4:103].split(sep), fixed[104]]
        end = start + 105
    else:
        found = _isa_fields(text, start, sep)
        if found is None:
            if at_eof or len(text) - start > 4 * ISA_LENGTH:
                raise X12SyntaxError("the ISA segment does not have 16 elements; check the file's first segment")
            return None
        values, end = found
    if end >= len(text):
        if at_eof:
            raise X12SyntaxError("the stream ends right after ISA16; the segment terminator is missing")
        return None
    for number, (value, width) in enumerate(zip(values, ISA_WIDTHS, strict=True), start=1):
        if len(value) != width:
            anomalies.append(f"ISA{number:02d} is {len(value)} characters wide, expected {width}")
    version = values[11]
    repetition = values[10] if version >= "00402" and not values[10].isalnum() else None
    delimiters = Delimiters(element=sep, component=values[15], segment=text[end], repetition=repetition)
    delimiters.check()
    return InterchangeStart(delimiters, ["ISA", *values], anomalies), end + 1


def _cleaner(terminator: str) -> tuple[str, ...]:
    """Characters to drop from segment text: line breaks that are not themselves the terminator."""
    if terminator == "\n":
        return ("\r",)
    if terminator == "\r":
        return ("\n",)
    return ("\r", "\n")


class X12Tokenizer:
    """Reads a binary stream in chunks and yields `InterchangeStart` events and `SegmentText` pieces."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        encoding: str = "utf-8",
        strict: bool = True,
    ) -> None:
        self._stream = stream
        self._chunk_size = max(chunk_size, 16)
        self._encoding = encoding
        self._strict = strict
        self._carry = b""
        self._eof = False
        self.anomalies: list[str] = []
        """Problems tolerated in lenient mode (an undecodable byte sequence read as Latin-1)."""

    def _read(self) -> str:
        if self._eof:
            return ""
        chunk = self._stream.read(self._chunk_size)
        if not chunk:
            self._eof = True
            data, self._carry = self._carry, b""
            return self._decode(data, final=True)
        data = self._carry + chunk if self._carry else chunk
        self._carry = b""
        return self._decode(data, final=False)

    def _decode(self, data: bytes, *, final: bool) -> str:
        try:
            return data.decode(self._encoding)
        except UnicodeDecodeError as error:
            if not final and error.reason == "unexpected end of data" and error.start >= len(data) - 4:
                # A multi-byte character cut by the chunk boundary: finish it with the next chunk.
                self._carry = data[error.start :]
                return data[: error.start].decode(self._encoding, errors="strict")
            if self._strict:
                raise X12SyntaxError(
                    f"bytes at offset {error.start} of a chunk are not valid {self._encoding}; pass the file's "
                    "encoding (often encoding='latin-1') or read it in lenient mode"
                ) from None
            self.anomalies.append(f"text is not valid {self._encoding}; read as Latin-1 from there on")
            self._encoding = "latin-1"
            return data.decode("latin-1")

    def _more(self, text: str, pos: int) -> tuple[str, int]:
        return text[pos:] + self._read(), 0

    def __iter__(self) -> Iterator[InterchangeStart | SegmentText]:
        text, pos = "", 0
        interchanges = 0
        while True:
            # Between interchanges: skip padding (blank lines, a DOS end-of-file mark), then expect an ISA.
            while True:
                while pos < len(text) and (text[pos].isspace() or text[pos] == "\x1a"):
                    pos += 1
                if pos < len(text) - 3 or self._eof:
                    break
                text, pos = self._more(text, pos)
            if pos >= len(text):
                return
            if not text.startswith("ISA", pos):
                raise X12SyntaxError(
                    f"expected an ISA segment but found {text[pos : pos + 20]!r}; every interchange starts with ISA "
                    f"(after interchange {interchanges})"
                )
            parsed = parse_isa(text, pos, at_eof=self._eof)
            while parsed is None:
                text, pos = self._more(text, pos)
                parsed = parse_isa(text, pos, at_eof=self._eof)
            start, pos = parsed
            interchanges += 1
            yield start
            text, pos = yield from self._body(start.delimiters, text, pos)

    def _body(self, delimiters: Delimiters, text: str, pos: int) -> Generator[SegmentText, None, tuple[str, int]]:
        """Yield the interchange's segments after its ISA; return the text and index just past its IEA."""
        term = delimiters.segment
        drop = _cleaner(term)
        iea = re.compile(re.escape(term) + r"\s*IEA" + re.escape(delimiters.element))
        padding = _padding(term)
        # The character before `pos` is always a terminator (the ISA's, then each piece's last), so an IEA at
        # the start of the next chunk is still found by searching for terminator + IEA.
        pos -= 1
        while True:
            match = iea.search(text, pos)
            if match is not None:
                end = text.find(term, match.end())
                if end == -1 and not self._eof:
                    text, pos = self._more(text, pos)
                    continue
                if end == -1:
                    text, end = text + term, len(text)
                yield SegmentText(self._clean(text[pos : end + 1], drop, padding, term), ends_interchange=True)
                return text, end + 1
            last = text.rfind(term, pos + 1)
            if self._eof:
                tail = text[pos:]
                if tail[1:].strip():
                    if not tail.endswith(term):
                        tail += term
                    yield SegmentText(self._clean(tail, drop, padding, term), ends_interchange=True, truncated=True)
                else:
                    yield SegmentText("", ends_interchange=True, truncated=True)
                return "", 0
            if last > pos:
                yield SegmentText(self._clean(text[pos : last + 1], drop, padding, term), ends_interchange=False)
                pos = last
            text, pos = self._more(text, pos)

    @staticmethod
    def _clean(region: str, drop: tuple[str, ...], padding: tuple[re.Pattern[str], re.Pattern[str]], term: str) -> str:
        """`region` (which starts with a terminator) without line breaks, padding and empty segments, and without
        that first terminator."""
        for char in drop:
            if char in region:
                region = region.replace(char, "")
        find, collapse = padding
        if find.search(region) is not None:  # one C pass (`"~ " in region` is several times slower)
            region = collapse.sub(term, region)
        return region[1:]


def _padding(term: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Patterns that find and collapse what may follow a terminator but belongs to no segment: spaces and tabs
    (unless the terminator is one) and further terminators (empty segments)."""
    escaped = re.escape(term)
    after = f"[ \\t{escaped}]" if term not in " \t" else escaped
    return re.compile(escaped + after), re.compile(escaped + after + "+")


def iter_segments(
    stream: BinaryIO, *, chunk_size: int = DEFAULT_CHUNK_SIZE, encoding: str = "utf-8", strict: bool = True
) -> Iterator[tuple[Delimiters, Segment]]:
    """Every segment of the stream, ISA included, split into elements, with its interchange's delimiters."""
    delimiters = Delimiters()
    for event in X12Tokenizer(stream, chunk_size=chunk_size, encoding=encoding, strict=strict):
        if isinstance(event, InterchangeStart):
            delimiters = event.delimiters
            yield delimiters, event.isa
            continue
        sep = delimiters.element
        for raw in event.text.split(delimiters.segment):
            if raw:
                yield delimiters, raw.split(sep)
