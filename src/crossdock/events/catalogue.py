"""The catalogue of event types: the business facts Crossdock publishes and the entity each carries.

Every type is `crossdock.<entity>.<verb>.v<N>` (see `crossdock.events.envelope.event_type`). Verbs are
past-tense business facts a distributor's systems react to (an order was accepted, a shipment dispatched);
there is deliberately no generic `upserted`: a consumer must be able to tell a cancellation from an edit.
The event's data is the canonical entity as `model_dump(mode="json")` emits it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crossdock.events.envelope import event_type

if TYPE_CHECKING:
    from pydantic import BaseModel


class UnknownEventTypeError(LookupError):
    """An event type or subject that the catalogue or the schema registry does not know."""


def split_type(type_: str) -> tuple[str, int]:
    """Split `crossdock.customer.updated.v2` into its subject `crossdock.customer.updated` and version 2."""
    subject, sep, version = type_.rpartition(".v")
    if not sep or not subject or not version.isdigit() or version.startswith("0"):
        raise UnknownEventTypeError(f"{type_!r} is not an event type; types are spelled crossdock.<entity>.<verb>.v<N>")
    return subject, int(version)


@dataclass(frozen=True, slots=True)
class EventTypeSpec:
    """One catalogued event type; its data is the canonical `data_entity` (a key of CANONICAL_ENTITIES)."""

    entity: str
    verb: str
    version: int
    description: str
    data_entity: str

    @property
    def type(self) -> str:
        """The full type string producers put in `CloudEvent.type`, e.g. `crossdock.order.accepted.v1`."""
        return event_type(self.entity, self.verb, self.version)

    @property
    def subject(self) -> str:
        """The type without its version: the key schema versions are registered under."""
        return f"crossdock.{self.entity}.{self.verb}"


class EventCatalogue:
    """An immutable, indexed set of event type specs; look types up by type string or subject."""

    def __init__(self, specs: Iterable[EventTypeSpec]) -> None:
        self._specs = tuple(specs)
        self._by_subject: dict[str, EventTypeSpec] = {}
        for spec in self._specs:
            if spec.subject in self._by_subject:
                raise ValueError(f"event type {spec.subject} is catalogued twice; keep one spec per subject")
            self._by_subject[spec.subject] = spec

    def __iter__(self) -> Iterator[EventTypeSpec]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, type_or_subject: object) -> bool:
        return isinstance(type_or_subject, str) and self.find(type_or_subject) is not None

    def all(self) -> tuple[EventTypeSpec, ...]:
        """Every catalogued event type, in catalogue order."""
        return self._specs

    def find(self, type_or_subject: str) -> EventTypeSpec | None:
        """The spec for a type (any version up to the current one) or a subject, or None if not catalogued."""
        spec = self._by_subject.get(type_or_subject)
        if spec is not None:
            return spec
        try:
            subject, version = split_type(type_or_subject)
        except UnknownEventTypeError:
            return None
        spec = self._by_subject.get(subject)
        # Older versions of a subject carry the same entity; a version from the future is not ours yet.
        if spec is None or version > spec.version:
            return None
        return spec

    def get(self, type_or_subject: str) -> EventTypeSpec:
        """The spec for a type or subject; raise UnknownEventTypeError with a hint if it is not catalogued."""
        spec = self.find(type_or_subject)
        if spec is None:
            raise UnknownEventTypeError(
                f"event type {type_or_subject!r} is not in the catalogue; "
                f"see `crossdock schemas list` for the {len(self._specs)} catalogued types"
            )
        return spec

    def for_entity(self, data_entity: str) -> tuple[EventTypeSpec, ...]:
        """All event types whose data is the given canonical entity."""
        return tuple(spec for spec in self._specs if spec.data_entity == data_entity)

    def data_entity(self, type_or_subject: str) -> str:
        """The canonical entity a type carries, e.g. `sales_order` for `crossdock.order.accepted.v1`."""
        return self.get(type_or_subject).data_entity

    def model_for(self, type_or_subject: str) -> type[BaseModel]:
        """The canonical pydantic model class an event type's data validates as."""
        from crossdock.model.catalogue import CANONICAL_ENTITIES

        entity = self.data_entity(type_or_subject)
        try:
            return CANONICAL_ENTITIES[entity]
        except KeyError:
            raise UnknownEventTypeError(
                f"event type {type_or_subject!r} carries entity {entity!r}, which the canonical model does "
                "not define; add it to crossdock.model.catalogue.CANONICAL_ENTITIES or fix the catalogue"
            ) from None


def _specs(entity: str, data_entity: str, verbs: dict[str, str]) -> list[EventTypeSpec]:
    return [EventTypeSpec(entity, verb, 1, text, data_entity) for verb, text in verbs.items()]


CATALOGUE = EventCatalogue(
    [
        *_specs(
            "customer",
            "customer",
            {
                "created": "A new customer account (bill-to/sold-to) was opened.",
                "updated": "Customer master data changed: name, addresses, terms, credit limit, tax class.",
                "deleted": "A customer record was removed or deactivated; data is its last known state.",
                "merged": "Duplicate customer records were merged; data is the surviving golden record.",
            },
        ),
        *_specs(
            "contact",
            "contact",
            {
                "created": "A contact person was added to a customer or supplier.",
                "updated": "A contact's details (name, role, phone, e-mail) changed.",
                "deleted": "A contact was removed; data is its last known state.",
            },
        ),
        *_specs(
            "item",
            "item",
            {
                "created": "A new item (SKU) was set up with its units of measure and pack sizes.",
                "updated": "Item master data changed: description, UOMs, pack size, weights, classification.",
                "discontinued": "An item is no longer sold or bought; open demand needs a substitute.",
            },
        ),
        *_specs(
            "price_list",
            "price_list",
            {
                "updated": "A price list (base or customer group) changed.",
                "received": "A supplier's price for an item arrived (a price-list file): its cost to us per UOM, "
                "with quantity breaks, from a date; the list's code is the supplier's canonical id.",
            },
        ),
        *_specs(
            "contract_price",
            "contract_price",
            {"updated": "A customer-specific contract price changed, was added or ended."},
        ),
        *_specs(
            "inventory_position",
            "inventory_position",
            {"updated": "On-hand, allocated or available-to-promise (ATP) quantity at a site changed."},
        ),
        *_specs(
            "quote",
            "quote",
            {
                "created": "A sales quote was issued to a customer.",
                "updated": "A quote's lines, prices or validity changed.",
                "accepted": "The customer accepted a quote; an order is expected to follow.",
            },
        ),
        # The event entity is `order`, the word customers use; its data is the sales_order model.
        *_specs(
            "order",
            "sales_order",
            {
                "submitted": "A customer submitted a sales order (web shop, EDI 850, CRM, or inside sales).",
                "accepted": "The ERP accepted a sales order after credit, price and availability checks.",
                "rejected": "The ERP rejected a sales order; data carries the order as submitted.",
                "backordered": "One or more order lines cannot be filled now and were backordered.",
                "changed": "An accepted order's lines, quantities, dates or ship-to changed.",
                "cancelled": "A sales order was cancelled in full.",
                "shipped": "An order was shipped in full or in part.",
                "invoiced": "An order was invoiced in full or in part.",
                "closed": "An order is complete: shipped, invoiced, nothing left open.",
            },
        ),
        *_specs(
            "shipment",
            "shipment",
            {
                "dispatched": "A shipment left the warehouse with its carrier, tracking and packed lines.",
                "delivered": "The carrier confirmed delivery of a shipment (proof of delivery).",
            },
        ),
        *_specs(
            "invoice",
            "invoice",
            {
                "posted": "A customer invoice was posted in the ERP.",
                "received": "A supplier's invoice (EDI 810) arrived, to be matched against its PO and receipt.",
                "paid": "A customer invoice was paid in full.",
            },
        ),
        *_specs("payment", "payment", {"received": "A customer payment was received and applied."}),
        *_specs(
            "return",
            "return",
            {
                "authorized": "A return (RMA) was authorized for a customer.",
                "received": "Returned goods arrived at the warehouse and were inspected.",
            },
        ),
        *_specs("supplier", "supplier", {"updated": "A supplier's master data or terms changed."}),
        *_specs(
            "purchase_order",
            "purchase_order",
            {
                "issued": "A purchase order was sent to a supplier (EDI 850 or e-mail).",
                "changed": "An issued purchase order was changed (EDI 860).",
                "cancelled": "A purchase order was cancelled.",
            },
        ),
        *_specs(
            "po_acknowledgement",
            "po_acknowledgement",
            {"received": "A supplier acknowledged a purchase order (EDI 855), line by line."},
        ),
        *_specs(
            "ship_notice",
            "ship_notice",
            {"received": "A supplier's advance ship notice (ASN, EDI 856) arrived for inbound goods."},
        ),
    ]
)
"""The event types Crossdock publishes. Extend by adding specs here and exporting their schemas."""
