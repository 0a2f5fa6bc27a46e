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


def test_failed_attempts_at_a_file_are_counted_per_upload_and_forgotten_when_filed(store: AnyStore) -> None:
    order, order_again = ("ORDERS_1.edi", 120, 1_795_000_000), ("ORDERS_1.edi", 130, 1_795_000_600)
    with store.unit_of_work() as uow:
        assert uow.partners.count_file_attempt("acme", order, error="accept raised TimeoutError", at=T0) == 1
        assert uow.partners.count_file_attempt("acme", order, error="accept raised KeyError", at=T0 + timedelta(1)) == 2
        assert uow.partners.count_file_attempt("acme", order_again, error="unreadable", at=T0) == 1  # a new upload
        assert uow.partners.count_file_attempt("zeta", order, error="unreadable", at=T0) == 1
        uow.commit()
    with store.unit_of_work() as uow:
        uow.partners.count_file_attempt("acme", order, error="rolled back", at=T0)
        uow.rollback()
    with store.unit_of_work(read_only=True) as uow:
        [first, second] = uow.partners.file_attempts("acme")
        assert (first.name, first.size, first.attempts, first.last_error) == (
            "ORDERS_1.edi",
            120,
            2,
            "accept raised KeyError",
        )
        assert (first.first_at, first.last_at) == (T0, T0 + timedelta(1))
        assert (second.size, second.attempts) == (130, 1)
    with store.unit_of_work() as uow:
        assert uow.partners.forget_file_attempts("acme", [order, ("GONE.edi", 1, 1)]) == 1
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert [(a.size, a.attempts) for a in uow.partners.file_attempts("acme")] == [(130, 1)]
        assert [a.attempts for a in uow.partners.file_attempts("zeta")] == [1]


def test_purchase_orders_awaiting_a_later_answer_are_those_without_it_or_closed(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        for n in range(1, 5):
            uow.partners.record(po(f"PO-{n}", T0 + timedelta(hours=n), f"000{n}"))
        uow.partners.record(PartnerDocument("acme", IN, "856", "PO-1", control_number="0101", at=T0))
        uow.partners.record(PartnerDocument("acme", IN, "closed", "PO-2", control_number="0102", at=T0))
        uow.partners.record(PartnerDocument("zeta", IN, "856", "PO-3", control_number="0103", at=T0))  # not acme's
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        waiting = uow.partners.awaiting(
            "acme", "850", ["856", "closed"], sent_before=T0 + timedelta(days=3), sent_after=T0
        )
        assert [d.reference for d in waiting] == ["PO-3", "PO-4"]
        window = uow.partners.awaiting(
            "acme", "850", ["856", "closed"], sent_before=T0 + timedelta(hours=4), sent_after=T0 + timedelta(hours=2)
        )
        assert [d.reference for d in window] == ["PO-3"]  # sent at +3 h; PO-4 at +4 h is not before the end
