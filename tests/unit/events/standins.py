"""Stand-ins for the canonical model: small pydantic models whose schemas the tests can change at will."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from crossdock.events.catalogue import EventCatalogue, EventTypeSpec


class CustomerStatus(StrEnum):
    """Stand-in customer status."""

    ACTIVE = "active"
    BLOCKED = "blocked"


class Address(BaseModel):
    """Stand-in postal address."""

    line1: str
    city: str
    postal_code: str
    country: str = Field(min_length=2, max_length=2)


class Customer(BaseModel):
    """Stand-in customer."""

    number: str
    name: str
    status: CustomerStatus = CustomerStatus.ACTIVE
    credit_limit: Decimal | None = None
    bill_to: Address | None = None


class OrderLine(BaseModel):
    """Stand-in order line."""

    line_no: int = Field(ge=1)
    sku: str
    quantity: Decimal
    uom: str = "EA"


class SalesOrder(BaseModel):
    """Stand-in sales order."""

    number: str
    customer_number: str
    lines: list[OrderLine] = []
    ship_to: Address | None = None


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """A model's schema as the real canonical model will give it: for `model_dump(mode="json")` output."""
    return model.model_json_schema(mode="serialization")


class StandInModel:
    """A schema source whose entity schemas a test can swap, as a model change would."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict[str, Any]] = {
            "customer": schema_of(Customer),
            "sales_order": schema_of(SalesOrder),
        }

    def __call__(self, entity: str) -> Mapping[str, Any]:
        return self.schemas[entity]


SMALL_CATALOGUE = EventCatalogue(
    [
        EventTypeSpec("customer", "updated", 1, "A customer changed.", "customer"),
        EventTypeSpec("order", "accepted", 1, "An order was accepted.", "sales_order"),
    ]
)
