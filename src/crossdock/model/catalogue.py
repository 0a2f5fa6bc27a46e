"""The canonical entities by the name event types use, and the JSON Schema each entity's event data must satisfy."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from pydantic import BaseModel

from crossdock.model.billing import Invoice, Payment
from crossdock.model.fulfilment import Shipment
from crossdock.model.inventory import InventoryPosition
from crossdock.model.item import Item
from crossdock.model.party import Contact, Customer, Supplier
from crossdock.model.pricing import ContractPrice, PriceList
from crossdock.model.purchasing import PoAcknowledgement, PurchaseOrder
from crossdock.model.returns import ReturnAuthorization
from crossdock.model.sales import Quote, SalesOrder
from crossdock.model.ship_notice import ShipNotice

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

CANONICAL_ENTITIES: dict[str, type[BaseModel]] = {
    "customer": Customer,
    "contact": Contact,
    "item": Item,
    "price_list": PriceList,
    "contract_price": ContractPrice,
    "inventory_position": InventoryPosition,
    "quote": Quote,
    "sales_order": SalesOrder,
    "shipment": Shipment,
    "invoice": Invoice,
    "payment": Payment,
    "return": ReturnAuthorization,
    "supplier": Supplier,
    "purchase_order": PurchaseOrder,
    "po_acknowledgement": PoAcknowledgement,
    "ship_notice": ShipNotice,
}
"""Entity name (as in `crossdock.<entity>.<verb>.vN` event data) to its model class."""


class UnknownEntityError(LookupError):
    """A name that is not a canonical entity."""


def model_for(entity: str) -> type[BaseModel]:
    """The model class of `entity`; raise UnknownEntityError naming the known entities if there is none."""
    try:
        return CANONICAL_ENTITIES[entity]
    except KeyError:
        known = ", ".join(sorted(CANONICAL_ENTITIES))
        raise UnknownEntityError(f"{entity!r} is not a canonical entity; known entities: {known}") from None


@cache
def _schema(entity: str) -> dict[str, Any]:
    # Serialization mode describes what `model_dump(mode="json")` emits, which is what events carry: decimals as
    # strings, defaults present. Validation mode would also admit JSON numbers for decimals, which dumps never hold.
    schema = model_for(entity).model_json_schema(mode="serialization")
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def json_schema(entity: str) -> dict[str, Any]:
    """The self-contained JSON Schema (draft 2020-12, shared parts under `$defs`) of `entity`'s JSON dump."""
    return copy.deepcopy(_schema(entity))
