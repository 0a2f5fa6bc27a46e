"""The validator reports typed findings coded as a 997 would; its fast path agrees with the detailed check."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from crossdock.edi.x12 import Delimiters, ElementError, SegmentError, validate
from crossdock.edi.x12.elements import check_segment, segment_pattern, segment_regex
from crossdock.edi.x12.specs import segment_dictionary
from crossdock.edi.x12.specs.model import DataType

from .support import fixture, only_set

VICS = fixture("node-x12_850_4010VICS.edi")


def _findings(old: bytes, new: bytes, data: bytes = VICS) -> list[tuple[str, int, str, list[tuple[int, str]]]]:
    assert old in data
    transaction = only_set(data.replace(old, new), strict=False)
    return [
        (f.segment_id, f.position, f.code.value, [(e.position, e.code.value) for e in f.elements])
        for f in validate(transaction)
    ]


def test_missing_mandatory_segment() -> None:
    assert _findings(b"BEG*00*SA*08292233294**20101127*610385385~\n", b"") == [("BEG", 2, "3", [])]


def test_unrecognized_and_misplaced_segments() -> None:
    assert _findings(b"REF*PS*R~", b"REF*PS*R~\nZZZ*1~") == [("ZZZ", 5, "1", [])]
    assert _findings(b"REF*PS*R~", b"REF*PS*R~\nBSN*00*1*20200101*1200~") == [("BSN", 5, "6", [])]
    assert _findings(b"CTT*6~", b"CTT*6~\nBEG*00*SA*1**20200101~")[0][2] == "7"


def test_element_errors() -> None:
    assert _findings(b"BEG*00*SA", b"BEG*00*QQ") == [("BEG", 2, "8", [(2, "7")])]
    assert _findings(b"DTM*002*20101214", b"DTM*002*20101314") == [("DTM", 6, "8", [(2, "8")])]
    assert _findings(b"PO1*1*120*EA", b"PO1*1*12X*EA") == [("PO1", 13, "8", [(2, "6")])]
    assert _findings(b"N1*ST*XYZ RETAIL*9*0003947268292", b"N1*ST") == [("N1", 10, "8", [(2, "2")])]
    assert _findings(b"CTT*6~", b"CTT*6*******X~") == [("CTT", 31, "8", [(8, "3")])]
    assert _findings(b"REF*DP*038", b"REF*DP*" + b"X" * 31) == [("REF", 3, "8", [(2, "5")])]


def test_segment_over_maximum_use() -> None:
    findings = _findings(b"DTM*002*20101214~", b"DTM*002*20101214~\n" * 11)
    assert findings == [("DTM", 16, "5", [])]


def test_856_hierarchy_is_checked() -> None:
    data = fixture("x12types_856_4060.edi")
    assert _findings(b"HL*4*2*I", b"HL*4*9*I", data) == [("HL", 25, "8", [(2, "7")])]
    assert _findings(b"HL*2*1*O", b"HL*2*1*I", data)[0][2] == "8"


def test_997_codes_widen_in_5010() -> None:
    ak3 = segment_dictionary("004010")["AK3"]
    ak3_5010 = segment_dictionary("005010")["AK3"]
    delimiters = Delimiters()
    assert check_segment(ak3, "AK3*PO1*4**I6", delimiters)[0].code == ElementError.INVALID_CODE
    assert check_segment(ak3_5010, "AK3*PO1*4**I6", delimiters) == []


_DICTIONARIES = {family: segment_dictionary(family) for family in ("004010", "005010")}
_SEGMENT_IDS = sorted(_DICTIONARIES["005010"])
_CODES = sorted(
    {code for d in _DICTIONARIES.values() for s in d.values() for e in s.elements for code in e.element.codes or ()}
)
_VALUES = st.sampled_from(
    [
        *("", "", "1", "12", "1.5", "-3", "EA", "ABC", "20240229", "20241301", "1230", "X" * 60),
        *(".", "1.", ".5", "-", "-.5", "00", "9" * 16, "1" * 15 + ".5", "1.2.3", "240229", "2460", "235960"),
        *("12304599", "A>B", "A^B", "A!B", " ", "0001", "999999999"),
    ]
) | st.sampled_from(_CODES)
_SEGMENT_DELIMITERS = st.sampled_from([Delimiters(), Delimiters("|", "^", "\n", "!")])
_USE_CODES = st.sampled_from([{}, {2: frozenset({"SA", "NE"})}, {1: frozenset({"850"})}])


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(_SEGMENT_IDS),
    st.sampled_from(sorted(_DICTIONARIES)),
    st.lists(_VALUES, max_size=12),
    _SEGMENT_DELIMITERS,
    _USE_CODES,
)
def test_fast_path_and_detailed_check_agree(
    segment_id: str, family: str, values: list[str], delimiters: Delimiters, codes: dict[int, frozenset[str]]
) -> None:
    definition = _DICTIONARIES[family].get(segment_id) or _DICTIONARIES["005010"][segment_id]
    # A set narrows code lists of simple elements only (the detailed check does not apply codes to composites).
    elements = definition.elements
    simple = {p for p, use in enumerate(elements, 1) if use.element.kind != DataType.COMPOSITE}
    codes = {p: c for p, c in codes.items() if p in simple}
    raw = delimiters.element.join([segment_id, *values])
    expected = check_segment(definition, raw, delimiters, codes) == []
    matched = segment_pattern(definition, delimiters, codes).fullmatch(raw) is not None
    # The same segment inside a whole set's text: followed by the terminator, as the set pattern sees it.
    in_set = re.fullmatch(
        segment_regex(definition, delimiters, codes, terminator=delimiters.segment), raw + delimiters.segment
    )
    assert matched == expected == (in_set is not None), raw


def test_segment_errors_name_what_to_do() -> None:
    transaction = only_set(VICS.replace(b"BEG*00*SA*08292233294**20101127*610385385~\n", b""), strict=False)
    (finding,) = validate(transaction)
    assert finding.code == SegmentError.MANDATORY_MISSING
    assert "add it" in finding.message
