"""Envelope checks: strict mode raises at the first anomaly, lenient mode records it and reads on."""

from __future__ import annotations

import pytest

from crossdock.edi.x12 import (
    AnomalyKind,
    TransactionSet,
    X12EnvelopeError,
    read_transaction_sets,
    validate,
)
from crossdock.edi.x12.validator import validator_for

from .support import fixture

CLEAN = ["node-x12_855_4010.edi", "stupidedi_810_ghx_trimmed.edi"]
# Real files are sloppy: these are the anomalies each sample carries, as found by the reader.
SLOPPY = {
    "edinet_850_dropship.edi": (AnomalyKind.INTERCHANGE_CONTROL, "IEA02 '000000001' does not match ISA13 '000000055'"),
}


@pytest.mark.parametrize("name", CLEAN)
def test_clean_samples_read_in_strict_mode(name: str) -> None:
    sets, anomalies = read_transaction_sets(fixture(name), strict=True)
    assert len(sets) == 1
    assert anomalies == []


@pytest.mark.parametrize(("name", "expected"), SLOPPY.items())
def test_sloppy_samples_fail_strict_and_read_lenient(name: str, expected: tuple[AnomalyKind, str]) -> None:
    kind, message = expected
    with pytest.raises(X12EnvelopeError, match=message):
        read_transaction_sets(fixture(name), strict=True)
    sets, anomalies = read_transaction_sets(fixture(name), strict=False)
    assert len(sets) == 1
    assert [a.kind for a in anomalies] == [kind]


@pytest.mark.parametrize("name", ["node-x12_850_4010VICS.edi", "x12types_856_4060.edi"])
def test_isa_authorization_qualifier_01_is_accepted(name: str) -> None:
    sets, anomalies = read_transaction_sets(fixture(name), strict=True)
    assert sets[0].group.interchange.isa[1] == "01"
    assert anomalies == []


def _broken(old: bytes, new: bytes) -> bytes:
    data = fixture("node-x12_855_4010.edi")
    assert old in data
    return data.replace(old, new)


@pytest.mark.parametrize(
    ("data", "kind", "ack_code"),
    [
        (_broken(b"SE*26*0005", b"SE*25*0005"), AnomalyKind.SEGMENT_COUNT, "4"),
        (_broken(b"SE*26*0005", b"SE*26*0006"), AnomalyKind.SET_CONTROL, "3"),
        (_broken(b"GE*1*5", b"GE*2*5"), AnomalyKind.SET_COUNT, "5"),
        (_broken(b"GE*1*5", b"GE*1*6"), AnomalyKind.GROUP_CONTROL, "4"),
        (_broken(b"IEA*1*", b"IEA*2*"), AnomalyKind.GROUP_COUNT, None),
        (_broken(b"GS*PR", b"GS*PO"), AnomalyKind.FUNCTIONAL_ID, "6"),
        (_broken(b"SE*26*0005~\n", b""), AnomalyKind.SE_MISSING, "2"),
        (_broken(b"GE*1*5~\n", b""), AnomalyKind.GE_MISSING, "3"),
        (_broken(b"GE*1*5~\nIEA*1*000000005~\n", b""), AnomalyKind.GE_MISSING, "3"),
    ],
)
def test_envelope_anomalies_are_typed_and_carry_their_997_code(
    data: bytes, kind: AnomalyKind, ack_code: str | None
) -> None:
    with pytest.raises(X12EnvelopeError):
        read_transaction_sets(data, strict=True)
    sets, anomalies = read_transaction_sets(data, strict=False)
    found = [a for a in anomalies if a.kind == kind]
    assert found, anomalies
    assert found[0].ack_code == ack_code
    assert len(sets) == 1


def test_a_truncated_file_reports_the_missing_iea() -> None:
    data = fixture("node-x12_855_4010.edi")
    cut = data[: data.index(b"GE*1*5")]
    sets, anomalies = read_transaction_sets(cut, strict=False)
    assert {a.kind for a in anomalies} == {AnomalyKind.GE_MISSING, AnomalyKind.IEA_MISSING}
    assert len(sets) == 1


def test_several_interchanges_in_one_stream() -> None:
    data = fixture("node-x12_855_4010.edi") + b"\r\n" + fixture("stupidedi_810_ghx_trimmed.edi")
    sets, anomalies = read_transaction_sets(data, strict=True)
    assert [s.set_id for s in sets] == ["855", "810"]
    assert [s.position for s in sets] == [3, 33]
    assert anomalies == []


def test_sets_are_kept_as_text_and_split_on_demand() -> None:
    (transaction,), _ = read_transaction_sets(fixture("node-x12_855_4010.edi"), strict=True)
    assert transaction.cut_from_text
    assert transaction.text.startswith("ST*855*0005~BAK*")
    assert transaction.text.endswith("SE*26*0005~")
    assert transaction.raw == transaction.text.split("~")[:-1]
    assert transaction.segment_count == len(transaction.raw) == 26
    assert transaction.header == ["ST", "855", "0005"]
    assert transaction.trailer == ["SE", "26", "0005"]
    assert transaction.segments[1][:3] == ["BAK", "00", "AD"]
    assert "855" in repr(transaction)


def test_a_set_built_from_segments_validates_as_before() -> None:
    (read,), _ = read_transaction_sets(fixture("node-x12_855_4010.edi"), strict=True)
    # An empty segment a caller passes counts in positions: the unknown ZZZ after it is segment 5.
    raw = [*read.raw[:3], "", "ZZZ*1", *read.raw[3:]]
    built = TransactionSet(raw, read.group, read.position)
    assert not built.cut_from_text
    assert built.text == "~".join(raw) + "~"
    validator = validator_for(built)
    validator.fast_path_after = 0
    try:
        findings = validate(built)
        assert findings == validator.walk(raw)
        assert [(f.segment_id, f.position) for f in findings] == [("ZZZ", 5)]
        built.raw = read.raw
        assert built.text == read.text
        assert validate(built) == []
    finally:
        del validator.fast_path_after  # back to the class default for the shared validator
