"""Documents written by the toolkit parse back, valid against their specs, into equal canonical objects."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from crossdock.edi.x12 import (
    Delimiters,
    InterchangeParties,
    MemoryControlNumbers,
    OutboundSet,
    TransactionSet,
    X12Writer,
    read_transaction_sets,
    validate,
)
from crossdock.edi.x12.maps import (
    AckStatus,
    ElementNote,
    FunctionalAck,
    SegmentNote,
    SetResponse,
    functional_ack_to_x12,
    invoice_to_x12,
    po_acknowledgement_to_x12,
    purchase_order_to_x12,
    read_functional_ack,
    read_invoice,
    read_po_acknowledgement,
    read_purchase_order,
    read_ship_notice,
    ship_notice_to_x12,
)
from crossdock.model import Invoice, PoAcknowledgement, PurchaseOrder, ShipNotice

from .strategies import acknowledgements, codes, invoices, purchase_orders, ship_notices, text
from .support import CONTEXT

PARTIES = InterchangeParties(sender_id="CROSSDOCK", receiver_id="PARTNER")
DELIMITERS = st.sampled_from(
    [Delimiters(), Delimiters("|", "^", "\n"), Delimiters("*", ":", "~", "^"), Delimiters("`", ">", "$")]
)
VERSIONS = st.sampled_from(["004010", "004010VICS", "004060", "005010"])
EXAMPLES = settings(max_examples=50, deadline=None)


def _round_trip(body: OutboundSet, delimiters: Delimiters, version: str) -> TransactionSet:
    if version >= "00402" and delimiters.repetition is None:
        delimiters = Delimiters(delimiters.element, delimiters.component, delimiters.segment, "!")
    writer = X12Writer(
        PARTIES, MemoryControlNumbers(), delimiters=delimiters, version=version, clock=lambda: datetime.now(UTC)
    )
    sets, anomalies = read_transaction_sets(writer.write(body), strict=True)
    assert anomalies == []
    (transaction,) = sets
    assert validate(transaction) == []
    return transaction


@EXAMPLES
@given(purchase_orders(), DELIMITERS, VERSIONS)
def test_850(order: PurchaseOrder, delimiters: Delimiters, version: str) -> None:
    transaction = _round_trip(purchase_order_to_x12(order), delimiters, version)
    assert read_purchase_order(transaction, CONTEXT) == order


@EXAMPLES
@given(acknowledgements(), DELIMITERS, VERSIONS)
def test_855(acknowledgement: PoAcknowledgement, delimiters: Delimiters, version: str) -> None:
    transaction = _round_trip(po_acknowledgement_to_x12(acknowledgement), delimiters, version)
    assert read_po_acknowledgement(transaction, CONTEXT) == acknowledgement


@EXAMPLES
@given(ship_notices(), DELIMITERS, VERSIONS)
def test_856(notice: ShipNotice, delimiters: Delimiters, version: str) -> None:
    transaction = _round_trip(ship_notice_to_x12(notice), delimiters, version)
    assert read_ship_notice(transaction, CONTEXT) == notice


@EXAMPLES
@given(invoices(), DELIMITERS, VERSIONS)
def test_810(invoice: Invoice, delimiters: Delimiters, version: str) -> None:
    transaction = _round_trip(invoice_to_x12(invoice), delimiters, version)
    assert read_invoice(transaction, CONTEXT) == invoice


_element_notes = st.builds(
    ElementNote,
    position=st.integers(1, 99),
    code=st.sampled_from(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]),
    ref=st.none() | st.integers(1, 9999),
    bad_value=st.none() | text(1, 20),
)
_segment_notes = st.builds(
    SegmentNote,
    segment_id=st.sampled_from(["PO1", "N1", "BEG", "HL", "ZZZ"]),
    position=st.integers(1, 99999),
    loop_id=st.none() | st.sampled_from(["PO1", "N1", "HL"]),
    code=st.none() | st.sampled_from(["1", "2", "3", "4", "5", "6", "7", "8"]),
    elements=st.lists(_element_notes, max_size=3).map(tuple),
)
_responses = st.builds(
    SetResponse,
    set_id=st.sampled_from(["850", "856", "810"]),
    control_number=st.from_regex(r"[0-9]{4,9}", fullmatch=True),
    status=st.sampled_from([AckStatus.ACCEPTED, AckStatus.ACCEPTED_WITH_ERRORS, AckStatus.REJECTED]),
    codes=st.lists(st.sampled_from(["1", "2", "3", "4", "5"]), max_size=3, unique=True).map(tuple),
    segments=st.lists(_segment_notes, max_size=3).map(tuple),
)
functional_acks = st.builds(
    FunctionalAck,
    functional_id=st.sampled_from(["PO", "SH", "IN"]),
    group_control_number=st.from_regex(r"[1-9][0-9]{0,8}", fullmatch=True),
    status=st.sampled_from(list(AckStatus)),
    included=st.integers(0, 999),
    received=st.integers(0, 999),
    accepted=st.integers(0, 999),
    codes=st.lists(st.sampled_from(["1", "2", "3", "4", "5"]), max_size=3, unique=True).map(tuple),
    sets=st.lists(_responses, max_size=3).map(tuple),
)


@EXAMPLES
@given(functional_acks, DELIMITERS, st.sampled_from(["004010", "005010"]))
def test_997(ack: FunctionalAck, delimiters: Delimiters, version: str) -> None:
    transaction = _round_trip(functional_ack_to_x12(ack), delimiters, version)
    assert read_functional_ack(transaction) == ack


def test_control_numbers_count_per_partner() -> None:
    numbers = MemoryControlNumbers()
    assert [numbers.next_interchange("A"), numbers.next_interchange("A"), numbers.next_interchange("B")] == [1, 2, 1]
    assert codes is not None
