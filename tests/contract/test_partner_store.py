"""The partner repositories of the Store port (control numbers, document journal) on every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from crossdock.ports.partners import DocumentDirection, PartnerDocument
from crossdock.store import MemoryStore, SqlStore

AnyStore = MemoryStore | SqlStore
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
OUT, IN = DocumentDirection.OUTBOUND, DocumentDirection.INBOUND


def test_control_numbers_count_per_partner_and_kind_and_roll_back_with_their_unit(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        assert uow.partners.next_numbers("acme", "interchange") == [1]
        assert uow.partners.next_numbers("acme", "set", 3) == [1, 2, 3]
        assert uow.partners.next_numbers("acme", "interchange") == [2]
        assert uow.partners.next_numbers("zeta", "interchange") == [1]
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.partners.next_numbers("acme", "set", 2) == [4, 5]
        uow.rollback()  # the send failed before it was committed: its numbers are not used
    with store.unit_of_work() as uow:
        assert uow.partners.next_numbers("acme", "set") == [4]
        uow.commit()


def po(reference: str, at: datetime, control: str = "0001") -> PartnerDocument:
    return PartnerDocument(
        partner="acme",
        direction=OUT,
        kind="850",
        reference=reference,
        control_number=control,
        file_name=f"850_{reference}.edi",
        payload=b"ISA*00*...~",
        at=at,
    )


def test_documents_are_journaled_once_and_answered(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        assert uow.partners.record(po("PO-1", T0)) is True
        assert uow.partners.record(po("PO-1", T0 + timedelta(minutes=1))) is False  # the same 850 again
        assert uow.partners.record(po("PO-2", T0 + timedelta(hours=1), "0002")) is True
        ack = PartnerDocument("acme", IN, "855", "PO-1", control_number="7001", event_id="e-855", at=T0)
        assert uow.partners.record(ack) is True
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        [sent] = uow.partners.find("acme", OUT, "850", "PO-1")
        assert (sent.payload, sent.file_name, sent.answered_at) == (b"ISA*00*...~", "850_PO-1.edi", None)
        late = uow.partners.unanswered(None, "850", sent_before=T0 + timedelta(hours=24))
        assert [d.reference for d in late] == ["PO-1", "PO-2"]
    with store.unit_of_work() as uow:
        assert uow.partners.mark_answered("acme", "850", "PO-1", at=T0 + timedelta(hours=2)) == 1
        assert uow.partners.mark_answered("acme", "850", "PO-1", at=T0 + timedelta(hours=3)) == 0
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert [d.reference for d in uow.partners.unanswered("acme", "850", sent_before=T0 + timedelta(days=2))] == [
            "PO-2"
        ]
        assert uow.partners.unanswered("zeta", "850", sent_before=T0 + timedelta(days=2)) == []
        assert uow.partners.unanswered(None, "850", sent_before=T0 + timedelta(minutes=30)) == []
        [answered] = uow.partners.find("acme", OUT, "850", "PO-1")
        assert answered.answered_at == T0 + timedelta(hours=2)
        assert replace(answered, answered_at=None, at=None) == replace(po("PO-1", T0), at=None)
