"""One resource per canonical entity held in Tryton; sales, shipments, invoices and purchases join them later."""

from __future__ import annotations

from collections.abc import Callable

from crossdock.connectors.tryton.resources.base import Context, Resource, View
from crossdock.connectors.tryton.resources.customer import CustomerResource
from crossdock.connectors.tryton.resources.item import ItemResource
from crossdock.connectors.tryton.resources.price_list import PriceListResource

RESOURCES: dict[str, Callable[[], Resource]] = {
    "customer": CustomerResource,
    "item": ItemResource,
    "price_list": PriceListResource,
}

__all__ = ["RESOURCES", "Context", "Resource", "View"]
