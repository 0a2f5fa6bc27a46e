"""One resource per canonical entity held in Tryton; sales, shipments, invoices and purchases join them later."""

from __future__ import annotations

from collections.abc import Callable

from crossdock.connectors.tryton.resources.base import Context, Resource, View
from crossdock.connectors.tryton.resources.customer import CustomerResource
from crossdock.connectors.tryton.resources.item import ItemResource

RESOURCES: dict[str, Callable[[], Resource]] = {
    "customer": CustomerResource,
    "item": ItemResource,
}

__all__ = ["RESOURCES", "Context", "Resource", "View"]
