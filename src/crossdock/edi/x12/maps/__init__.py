"""Mappings between X12 transaction sets and the canonical model, one module per set."""

from crossdock.edi.x12.maps.context import X12CodeTable, X12Context
from crossdock.edi.x12.maps.functional_ack import (
    AckStatus,
    ElementNote,
    FunctionalAck,
    SegmentNote,
    SetResponse,
    functional_ack_to_x12,
    read_functional_ack,
)
from crossdock.edi.x12.maps.inventory import read_inventory_advice
from crossdock.edi.x12.maps.invoice import invoice_to_x12, read_invoice
from crossdock.edi.x12.maps.po_acknowledgement import po_acknowledgement_to_x12, read_po_acknowledgement
from crossdock.edi.x12.maps.purchase_order import purchase_order_to_x12, read_purchase_order, sales_order_request
from crossdock.edi.x12.maps.ship_notice import read_ship_notice, ship_notice_to_x12

__all__ = [
    "AckStatus",
    "ElementNote",
    "FunctionalAck",
    "SegmentNote",
    "SetResponse",
    "X12CodeTable",
    "X12Context",
    "functional_ack_to_x12",
    "invoice_to_x12",
    "po_acknowledgement_to_x12",
    "purchase_order_to_x12",
    "read_functional_ack",
    "read_inventory_advice",
    "read_invoice",
    "read_po_acknowledgement",
    "read_purchase_order",
    "read_ship_notice",
    "sales_order_request",
    "ship_notice_to_x12",
]
