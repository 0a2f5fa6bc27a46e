"""Transaction set structures a distributor exchanges: 850, 855, 856, 810, 846, 860 and 997.

Each lists its segments and loops in standard order with requirement and maximum use. One structure serves
004010, 004010VICS, 004060 and 005010: between those versions these sets differ in element details (handled by the
segment dictionary of each version family) and in segments this subset does not list, not in loop structure. The
997 gains a CTX segment in 005010.
"""

from __future__ import annotations

from functools import cache

from crossdock.edi.x12.errors import X12UnsupportedError
from crossdock.edi.x12.specs.model import UNBOUNDED, LoopSpec, SegmentUse, TransactionSetSpec, loop, seg
from crossdock.edi.x12.specs.segments import ACK_TYPES, HL_LEVELS

_N = UNBOUNDED

_PO_TYPES = {"BK", "BE", "CN", "CP", "DR", "DS", "EO", "IN", "KB", "KN", "NE", "NP", "OS", "PR", "RE", "RL", "RO"}
_PO_TYPES |= {"RR", "SA", "SD", "SP", "SS", "ST", "SW", "UD", "ZZ"}


def _name_loop(max_use: int = 200) -> LoopSpec:
    """The N1 party loop: name, address lines, city/state/zip, references and contacts."""
    return loop(
        "N1",
        max_use,
        seg("N1", req=True),
        seg("N2", 2),
        seg("N3", 2),
        seg("N4", _N),
        seg("REF", 12),
        seg("PER", _N),
        seg("FOB"),
        seg("TD1", 2),
        seg("TD5", 12),
        seg("TD3", 12),
        seg("TD4", 5),
        seg("PKG", 200),
    )


def _po_header(begin: SegmentUse) -> tuple[SegmentUse | LoopSpec, ...]:
    """The header shared by 850, 855 and 860 after their beginning segment."""
    return (
        seg("ST", req=True),
        begin,
        seg("CUR"),
        seg("REF", _N),
        seg("PER", 3),
        seg("FOB", _N),
        seg("CSH", 5),
        loop("SAC", 25, seg("SAC", req=True), seg("CUR")),
        seg("ITD", _N),
        seg("DTM", 10),
        seg("PID", 200),
        seg("MEA", 40),
        seg("PWK", 25),
        seg("PKG", 200),
        seg("TD1", 2),
        seg("TD5", 12),
        seg("TD3", 12),
        seg("TD4", 5),
        seg("MAN", 10),
        seg("TXI", _N),
        loop("N9", 1000, seg("N9", req=True), seg("DTM", 10), seg("MSG", 1000)),
        _name_loop(),
    )


def _po_line_body(*extra: SegmentUse | LoopSpec) -> tuple[SegmentUse | LoopSpec, ...]:
    """What follows a PO1/POC line segment, with set-specific loops (ACK, SCH) spliced in before the N9 loop."""
    return (
        seg("LIN", _N),
        seg("CUR"),
        seg("MEA", 40),
        loop("PID", 1000, seg("PID", req=True), seg("MEA", 10)),
        seg("PWK", 25),
        seg("PO4", _N),
        seg("REF", _N),
        seg("PER", 3),
        loop("SAC", 25, seg("SAC", req=True), seg("CUR")),
        seg("CSH"),
        seg("ITD", 2),
        seg("FOB", _N),
        seg("SDQ", 500),
        seg("DTM", 10),
        seg("TD1"),
        seg("TD5", 12),
        seg("TD3"),
        seg("TD4", 5),
        seg("MAN", 10),
        seg("MSG", 12),
        seg("TXI", _N),
        loop("QTY", _N, seg("QTY", req=True)),
        *extra,
        loop("SCH", 200, seg("SCH", req=True), seg("TD1", 2), seg("TD5", 12), seg("TD3", 12), seg("TD4", 5)),
        seg("PKG", 200),
        loop("N9", 1000, seg("N9", req=True), seg("DTM", 10), seg("MEA", 40), seg("MSG", 1000)),
        _name_loop(),
        loop("SLN", 1000, seg("SLN", req=True), seg("MSG"), seg("PID", 1000), seg("PO4"), seg("DTM", 10)),
    )


def _summary() -> tuple[SegmentUse | LoopSpec, ...]:
    return (loop("CTT", 1, seg("CTT", req=True), seg("AMT")), seg("SE", req=True))


PURCHASE_ORDER = TransactionSetSpec(
    "850",
    "Purchase Order",
    "PO",
    (
        *_po_header(seg("BEG", req=True, codes={2: _PO_TYPES})),
        loop("PO1", 100_000, seg("PO1", req=True), *_po_line_body(), req=True),
        *_summary(),
    ),
)

PO_ACKNOWLEDGEMENT = TransactionSetSpec(
    "855",
    "Purchase Order Acknowledgment",
    "PR",
    (
        *_po_header(seg("BAK", req=True, codes={2: set(ACK_TYPES)})),
        loop(
            "PO1",
            100_000,
            seg("PO1", req=True),
            *_po_line_body(loop("ACK", 104, seg("ACK", req=True), seg("DTM"))),
        ),
        *_summary(),
    ),
)

PO_CHANGE = TransactionSetSpec(
    "860",
    "Purchase Order Change Request - Buyer Initiated",
    "PC",
    (
        *_po_header(seg("BCH", req=True)),
        loop("POC", 100_000, seg("POC", req=True), *_po_line_body()),
        *_summary(),
    ),
)

SHIP_NOTICE = TransactionSetSpec(
    "856",
    "Ship Notice/Manifest",
    "SH",
    (
        seg("ST", req=True),
        seg("BSN", req=True),
        seg("DTM", 10),
        loop(
            "HL",
            200_000,
            seg("HL", req=True),
            seg("LIN"),
            seg("SN1"),
            seg("SLN", 1000),
            seg("PRF"),
            seg("PO4"),
            seg("PID", 200),
            seg("MEA", 40),
            seg("PWK", 25),
            seg("PKG", 25),
            seg("TD1", 20),
            seg("TD5", 12),
            seg("TD3", 12),
            seg("TD4", 5),
            seg("REF", _N),
            seg("PER", 3),
            seg("MAN", _N),
            seg("DTM", 10),
            seg("FOB"),
            loop("N1", 200, seg("N1", req=True), seg("N2", 2), seg("N3", 2), seg("N4"), seg("REF", 12), seg("PER", 3)),
            seg("SDQ", 50),
            seg("CUR"),
            loop("SAC", _N, seg("SAC", req=True), seg("CUR")),
            req=True,
        ),
        seg("CTT"),
        seg("SE", req=True),
    ),
    hierarchical=True,
    hl_levels=HL_LEVELS,
)

INVOICE = TransactionSetSpec(
    "810",
    "Invoice",
    "IN",
    (
        seg("ST", req=True),
        seg("BIG", req=True),
        seg("NTE", 100),
        seg("CUR"),
        seg("REF", 12),
        seg("PER", 3),
        loop("N1", 200, seg("N1", req=True), seg("N2", 2), seg("N3", 2), seg("N4"), seg("REF", 12), seg("PER", 3)),
        seg("ITD", _N),
        seg("DTM", 10),
        seg("FOB"),
        seg("PID", 200),
        seg("MEA", 40),
        seg("PWK", 25),
        seg("PKG", 25),
        loop("N9", 1, seg("N9", req=True), seg("MSG", 10)),
        loop(
            "IT1",
            200_000,
            seg("IT1", req=True),
            loop("QTY", 5, seg("QTY", req=True)),
            seg("CUR"),
            seg("TXI", 10),
            seg("MEA", 40),
            loop("PID", 1000, seg("PID", req=True), seg("MEA", 10)),
            seg("PWK", 25),
            seg("PKG", 25),
            seg("PO4"),
            seg("ITD", 2),
            seg("REF", _N),
            seg("PER", 5),
            seg("SDQ", 500),
            seg("DTM", 10),
            seg("CAD", _N),
            loop("SAC", 25, seg("SAC", req=True), seg("TXI", 10)),
            loop("SLN", 1000, seg("SLN", req=True), seg("DTM"), seg("REF"), seg("PID", 1000)),
            loop("N1", 200, seg("N1", req=True), seg("N2", 2), seg("N3", 2), seg("N4"), seg("REF", 12)),
        ),
        seg("TDS", req=True),
        seg("TXI", 10),
        seg("CAD"),
        seg("AMT", _N),
        loop("SAC", 25, seg("SAC", req=True), seg("TXI", 10)),
        loop("ISS", _N, seg("ISS", req=True), seg("PID")),
        seg("CTT"),
        seg("SE", req=True),
    ),
)

INVENTORY_ADVICE = TransactionSetSpec(
    "846",
    "Inventory Inquiry/Advice",
    "IB",
    (
        seg("ST", req=True),
        seg("BIA", req=True),
        seg("CUR"),
        seg("REF", 12),
        seg("PER", 3),
        seg("MEA", 10),
        seg("DTM", 10),
        loop("N1", 200, seg("N1", req=True), seg("N2", 2), seg("N3", 2), seg("N4"), seg("REF", 12), seg("PER", 3)),
        loop(
            "LIN",
            10_000,
            seg("LIN", req=True),
            seg("SLN", 100),
            seg("PID", 200),
            seg("MEA", 40),
            seg("PO4"),
            seg("DTM", 10),
            seg("CUR"),
            seg("REF", _N),
            seg("PER", 3),
            seg("SDQ", _N),
            loop("QTY", _N, seg("QTY", req=True), seg("SCH", 25), seg("DTM", 10), seg("REF", 12)),
            loop("N1", _N, seg("N1", req=True), seg("N2", 2), seg("N3", 2), seg("N4"), seg("REF", 12)),
        ),
        seg("CTT"),
        seg("SE", req=True),
    ),
)


def _functional_ack(family: str) -> TransactionSetSpec:
    segment_loop: tuple[SegmentUse, ...] = (seg("AK3", req=True), seg("AK4", 99))
    if family == "005010":
        segment_loop = (seg("AK3", req=True), seg("CTX", 10), seg("AK4", 99))
    return TransactionSetSpec(
        "997",
        "Functional Acknowledgment",
        "FA",
        (
            seg("ST", req=True),
            seg("AK1", req=True),
            loop("AK2", 999_999, seg("AK2", req=True), loop("AK3", 999_999, *segment_loop), seg("AK5", req=True)),
            seg("AK9", req=True),
            seg("SE", req=True),
        ),
    )


_SETS = {spec.id: spec for spec in (PURCHASE_ORDER, PO_ACKNOWLEDGEMENT, PO_CHANGE, SHIP_NOTICE, INVOICE)}
_SETS[INVENTORY_ADVICE.id] = INVENTORY_ADVICE
SUPPORTED_SETS = frozenset({*_SETS, "997"})
"""Transaction set ids this toolkit validates."""


@cache
def transaction_set_spec(set_id: str, family: str = "004010") -> TransactionSetSpec:
    """The structure of `set_id` in a version family; raise X12UnsupportedError for sets this toolkit lacks."""
    if set_id == "997":
        return _functional_ack(family)
    try:
        return _SETS[set_id]
    except KeyError:
        supported = ", ".join(sorted(SUPPORTED_SETS))
        raise X12UnsupportedError(
            f"transaction set {set_id!r} has no specification here (supported: {supported}); "
            "reject it with a 997 AK5*R*1 or add a spec in crossdock.edi.x12.specs.sets"
        ) from None
