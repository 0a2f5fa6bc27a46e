"""997 generation: every group received gets an AK1..AK9 answer built from envelope anomalies and findings."""

from __future__ import annotations

from crossdock.edi.x12 import MemoryControlNumbers, X12Writer, acknowledge, read_transaction_sets, reply_parties
from crossdock.edi.x12.maps import AckStatus, functional_ack_to_x12, read_functional_ack

from .support import FIXTURE_FILES, fixture


def test_every_sample_is_accepted_and_the_997_reads_back() -> None:
    for path in FIXTURE_FILES:
        ((group, ack),) = acknowledge(path)
        assert ack.status == AckStatus.ACCEPTED, path.name
        assert (ack.functional_id, ack.group_control_number) == (group.functional_id, group.control_number)
        writer = X12Writer(reply_parties(group), MemoryControlNumbers())
        data = writer.write(functional_ack_to_x12(ack))
        sets, anomalies = read_transaction_sets(data, strict=True)
        assert anomalies == []
        assert read_functional_ack(sets[0]) == ack
        assert sets[0].group.interchange.sender == group.interchange.receiver


def test_rejected_and_noted_errors() -> None:
    data = fixture("node-x12_850_4010VICS.edi")
    rejected = data.replace(b"BEG*00*SA*08292233294**20101127*610385385~\n", b"")
    noted = data.replace(b"DTM*002*20101214", b"DTM*002*20101314")
    both = rejected + noted
    results = acknowledge(both)
    assert [ack.status for _, ack in results] == [AckStatus.REJECTED, AckStatus.ACCEPTED_WITH_ERRORS]
    first = results[0][1].sets[0]
    # SE01 no longer matches once BEG is gone: the envelope anomaly (4) comes with the segment errors (5).
    assert (first.status, first.codes) == (AckStatus.REJECTED, ("4", "5"))
    assert [(n.segment_id, n.position, n.code) for n in first.segments] == [("BEG", 2, "3")]
    second = results[1][1].sets[0]
    assert second.status == AckStatus.ACCEPTED_WITH_ERRORS
    assert [(e.position, e.code, e.bad_value) for e in second.segments[0].elements] == [(2, "8", "20101314")]


def test_partial_acceptance_and_unsupported_sets() -> None:
    data = fixture("node-x12_855_4010.edi")
    two_sets = data.replace(b"GE*1*5", b"ST*999*0001~\nSE*2*0001~\nGE*2*5")
    ((_, ack),) = acknowledge(two_sets)
    assert ack.status == AckStatus.PARTIALLY_ACCEPTED
    assert (ack.included, ack.received, ack.accepted) == (2, 2, 1)
    assert ack.sets[1].codes == ("1",)


def test_group_anomalies_reject_the_group() -> None:
    data = fixture("node-x12_855_4010.edi").replace(b"GE*1*5", b"GE*3*5")
    ((_, ack),) = acknowledge(data)
    assert (ack.status, ack.codes) == (AckStatus.REJECTED, ("5",))
