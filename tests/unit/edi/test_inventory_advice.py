"""846 inventory advice → inventory positions (no shared sample exists; this one follows the VICS layout)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from crossdock.edi.x12 import validate
from crossdock.edi.x12.maps import read_inventory_advice

from .support import CONTEXT, only_set

ADVICE = b"""ISA*00*          *00*          *ZZ*SUPPLIER       *ZZ*CROSSDOCK      *240305*0800*U*00401*000000042*0*P*>~
GS*IB*SUPPLIER*CROSSDOCK*20240305*0800*42*X*004010~
ST*846*0001~
BIA*00*DD*INV-0305*20240305*0800~
N1*WH*EAST DC*92*DC-EAST~
LIN*1*SK*SKU-100*UP*012345678905~
PID*F****HEX BOLT 3/8 IN~
QTY*17*250*EA~
QTY*33*200*EA~
QTY*63*50*EA~
DTM*018*20240320~
LIN*2*VP*V-200~
QTY*33*12*CA~
N1*WH*WEST DC*92*DC-WEST~
CTT*2~
SE*14*0001~
GE*1*42~
IEA*1*000000042~
"""


def test_846_becomes_positions_per_item_and_location() -> None:
    transaction = only_set(ADVICE)
    assert validate(transaction) == []
    first, second = read_inventory_advice(transaction, CONTEXT)
    assert (first.sku, first.location_id) == ("SKU-100", "DC-EAST")
    assert [q.value for q in (first.on_hand, first.available_to_promise, first.on_order, first.allocated)] == [
        250,
        200,
        50,
        0,
    ]
    assert first.as_of == datetime(2024, 3, 5, 8, 0, tzinfo=UTC)
    assert first.next_receipt_date == date(2024, 3, 20)
    assert (second.sku, second.location_id) == ("V-200", "DC-WEST")
    assert (second.on_hand.value, second.on_hand.uom) == (12, "CS")  # on hand falls back to available; CA is CS
