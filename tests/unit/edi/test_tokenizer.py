"""The streaming tokenizer: delimiters from the ISA, chunk boundaries, line breaks, odd separators."""

from __future__ import annotations

import io

import pytest

from crossdock.edi.x12 import Delimiters, X12SyntaxError, iter_segments, read_transaction_sets

from .support import FIXTURE_FILES


def _interchange(element: str = "*", component: str = ">", terminator: str = "~", after: str = "") -> str:
    isa = (
        f"ISA{element}00{element}          {element}00{element}          {element}ZZ{element}SENDER         "
        f"{element}ZZ{element}RECEIVER       {element}240101{element}1200{element}U{element}00401{element}"
        f"000000001{element}0{element}P{element}{component}"
    )
    body = [
        f"GS{element}PO{element}SENDER{element}RECEIVER{element}20240101{element}1200{element}1{element}X{element}004010",
        f"ST{element}850{element}0001",
        f"BEG{element}00{element}SA{element}PO1{element}{element}20240101",
        f"PO1{element}1{element}2{element}EA{element}3.5{element}{element}BP{element}SKU-1",
        f"CTT{element}1",
        f"SE{element}5{element}0001",
        f"GE{element}1{element}1",
        f"IEA{element}1{element}000000001",
    ]
    return isa + terminator + after + (terminator + after).join(body) + terminator + after


def _tags(data: bytes, chunk_size: int = 1 << 20) -> list[str]:
    return [segment[0] for _, segment in iter_segments(io.BytesIO(data), chunk_size=chunk_size)]


TAGS = ["ISA", "GS", "ST", "BEG", "PO1", "CTT", "SE", "GE", "IEA"]


@pytest.mark.parametrize(
    ("element", "component", "terminator", "after"),
    [
        ("*", ">", "~", ""),
        ("*", ">", "~", "\r\n"),
        ("*", ":", "~", "\n"),
        ("*", ">", "\n", ""),
        ("*", ">", "\r", "\n"),
        ("*", ">", "$", ""),
        ("|", "^", "~", ""),
        ("`", ">", "'", "\n"),
        ("^", ":", "~", "\r\n"),
    ],
)
def test_delimiters_come_from_the_isa(element: str, component: str, terminator: str, after: str) -> None:
    data = _interchange(element, component, terminator, after).encode()
    events = list(iter_segments(io.BytesIO(data)))
    delimiters = events[0][0]
    assert delimiters == Delimiters(element=element, component=component, segment=terminator)
    assert [segment[0] for _, segment in events] == TAGS
    assert events[4][1] == ["PO1", "1", "2", "EA", "3.5", "", "BP", "SKU-1"]


@pytest.mark.parametrize("chunk_size", [16, 17, 31, 64, 105, 106, 107, 1000])
def test_segments_straddling_chunk_boundaries_are_whole(chunk_size: int) -> None:
    data = (_interchange(after="\r\n") * 3).encode()
    assert _tags(data, chunk_size) == TAGS * 3


def test_every_fixture_reads_the_same_at_any_chunk_size() -> None:
    for path in FIXTURE_FILES:
        data = path.read_bytes()
        whole = list(iter_segments(io.BytesIO(data), strict=False))
        for chunk_size in (16, 33, 100, 257):
            assert list(iter_segments(io.BytesIO(data), chunk_size=chunk_size, strict=False)) == whole, path.name


def test_blank_lines_padding_and_a_missing_final_terminator_are_tolerated() -> None:
    text = "\n\n  " + _interchange(after="\n\n   ").rstrip().removesuffix("~") + "\n\n"
    assert _tags(text.encode(), 32) == TAGS


def test_interchanges_with_different_delimiters_follow_each_other() -> None:
    data = (_interchange() + "\n" + _interchange("|", "^", "\n") + _interchange("*", ">", "$", "\r\n")).encode()
    for chunk_size in (16, 50, 1 << 20):
        sets, anomalies = read_transaction_sets(io.BytesIO(data).read(), strict=True)
        assert [s.delimiters.segment for s in sets] == ["~", "\n", "$"]
        assert _tags(data, chunk_size) == TAGS * 3
        assert anomalies == []


def test_repetition_separator_is_read_from_isa11_from_00402_on() -> None:
    text = _interchange().replace("*U*00401*", "*^*00501*")
    delimiters = next(iter_segments(io.BytesIO(text.encode())))[0]
    assert delimiters.repetition == "^"


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n", b"GS*PO*X~", b"ISA", b"ISA*00*", b"ISA*00*          *00*  ", b"ISAX00"],
)
def test_what_is_not_x12_raises_a_syntax_error(data: bytes) -> None:
    if not data.strip():
        assert list(iter_segments(io.BytesIO(data))) == []
        return
    with pytest.raises(X12SyntaxError):
        list(iter_segments(io.BytesIO(data)))


def test_invalid_utf8_is_an_error_in_strict_mode_and_latin1_in_lenient() -> None:
    data = _interchange().replace("SKU-1", "SKU-\xe9").encode("latin-1")
    with pytest.raises(X12SyntaxError, match="latin-1"):
        read_transaction_sets(data, strict=True)
    sets, anomalies = read_transaction_sets(data, strict=False)
    assert sets[0].segments[2][7] == "SKU-é"
    assert [a.kind.value for a in anomalies] == ["encoding"]
