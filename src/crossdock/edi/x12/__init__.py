"""ANSI X12 for a distributor: a streaming tokenizer, envelope checks, transaction set specs and a validator,
mappings to and from the canonical model (850, 855, 856, 810, 846, 997), a writer and 997 generation.

Reading: `X12Reader(stream, strict=...)` yields `TransactionSet`s; `validate(ts)` returns typed findings;
`read_purchase_order(ts, context)` and friends build canonical objects. Writing: `purchase_order_to_x12(po)` and
friends build set bodies, `X12Writer(...).write(*sets)` wraps them in envelopes. Every problem with input is an
`X12Error`.
"""

from crossdock.edi.x12.ack import acknowledge, acknowledge_groups, reply_parties, respond
from crossdock.edi.x12.envelope import (
    AnomalyKind,
    EnvelopeAnomaly,
    FunctionalGroup,
    Interchange,
    TransactionSet,
    X12Reader,
    read_transaction_sets,
)
from crossdock.edi.x12.errors import (
    X12EnvelopeError,
    X12Error,
    X12MappingError,
    X12SyntaxError,
    X12UnsupportedError,
    X12ValidationError,
    X12WriteError,
)
from crossdock.edi.x12.findings import ElementError, ElementFinding, SegmentError, SegmentFinding
from crossdock.edi.x12.tokenizer import Delimiters, Segment, X12Tokenizer, iter_segments
from crossdock.edi.x12.validator import SetValidator, compiled_validator, validate
from crossdock.edi.x12.writer import ControlNumbers, InterchangeParties, MemoryControlNumbers, OutboundSet, X12Writer

__all__ = [
    "AnomalyKind",
    "ControlNumbers",
    "Delimiters",
    "ElementError",
    "ElementFinding",
    "EnvelopeAnomaly",
    "FunctionalGroup",
    "Interchange",
    "InterchangeParties",
    "MemoryControlNumbers",
    "OutboundSet",
    "Segment",
    "SegmentError",
    "SegmentFinding",
    "SetValidator",
    "TransactionSet",
    "X12EnvelopeError",
    "X12Error",
    "X12MappingError",
    "X12Reader",
    "X12SyntaxError",
    "X12Tokenizer",
    "X12UnsupportedError",
    "X12ValidationError",
    "X12WriteError",
    "X12Writer",
    "acknowledge",
    "acknowledge_groups",
    "compiled_validator",
    "iter_segments",
    "read_transaction_sets",
    "reply_parties",
    "respond",
    "validate",
]
