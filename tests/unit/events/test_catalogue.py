"""The event type catalogue: spelling, coverage of the distributor's business facts, and lookups."""

from __future__ import annotations

import pytest

from crossdock.events.catalogue import (
    CATALOGUE,
    EventCatalogue,
    EventTypeSpec,
    UnknownEventTypeError,
    split_type,
)
from crossdock.events.envelope import CloudEvent


def test_every_type_is_a_valid_cloudevent_type() -> None:
    for spec in CATALOGUE:
        CloudEvent(type=spec.type, source="test", subject="x", data={}).check()
        assert spec.type == f"{spec.subject}.v{spec.version}"


def test_the_catalogue_covers_the_business_facts() -> None:
    types = {spec.type for spec in CATALOGUE}
    assert len(CATALOGUE) == len(types) == 40
    for expected in (
        "crossdock.customer.merged.v1",
        "crossdock.order.submitted.v1",
        "crossdock.order.accepted.v1",
        "crossdock.order.rejected.v1",
        "crossdock.order.backordered.v1",
        "crossdock.shipment.dispatched.v1",
        "crossdock.invoice.posted.v1",
        "crossdock.purchase_order.issued.v1",
        "crossdock.po_acknowledgement.received.v1",
        "crossdock.ship_notice.received.v1",
        "crossdock.price_list.received.v1",
    ):
        assert expected in types
    assert not any(spec.verb in {"upserted", "upsert", "changed_or_created"} for spec in CATALOGUE)
    assert all(spec.description.endswith(".") for spec in CATALOGUE)


def test_orders_are_named_order_and_carry_the_sales_order_model() -> None:
    order_types = CATALOGUE.for_entity("sales_order")
    assert {spec.entity for spec in order_types} == {"order"}
    assert {spec.verb for spec in order_types} == {
        "submitted",
        "accepted",
        "rejected",
        "backordered",
        "changed",
        "cancelled",
        "shipped",
        "invoiced",
        "closed",
    }


def test_lookups_by_type_and_subject() -> None:
    spec = CATALOGUE.get("crossdock.order.accepted.v1")
    assert spec is CATALOGUE.get("crossdock.order.accepted")
    assert CATALOGUE.data_entity("crossdock.order.accepted.v1") == "sales_order"
    assert "crossdock.order.accepted.v1" in CATALOGUE
    assert "crossdock.order.accepted.v2" not in CATALOGUE  # a version from the future is not catalogued
    assert CATALOGUE.find("crossdock.order.teleported.v1") is None
    assert CATALOGUE.all()[0].type == "crossdock.customer.created.v1"
    with pytest.raises(UnknownEventTypeError, match="crossdock schemas list"):
        CATALOGUE.get("crossdock.order.teleported.v1")


def test_older_versions_resolve_to_their_subject() -> None:
    catalogue = EventCatalogue([EventTypeSpec("customer", "updated", 3, "A customer changed.", "customer")])
    assert catalogue.get("crossdock.customer.updated.v1").version == 3


def test_a_subject_is_catalogued_once() -> None:
    spec = EventTypeSpec("customer", "updated", 1, "A customer changed.", "customer")
    with pytest.raises(ValueError, match="catalogued twice"):
        EventCatalogue([spec, spec])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("crossdock.customer.updated.v1", ("crossdock.customer.updated", 1)),
        ("crossdock.a.b.v12", ("crossdock.a.b", 12)),
    ],
)
def test_split_type(text: str, expected: tuple[str, int]) -> None:
    assert split_type(text) == expected


@pytest.mark.parametrize("text", ["crossdock.customer.updated", "crossdock.customer.updated.v0", "v1", ".v1", "x.vx"])
def test_split_type_refuses_what_is_not_a_type(text: str) -> None:
    with pytest.raises(UnknownEventTypeError, match=r"crossdock.<entity>.<verb>.v<N>"):
        split_type(text)
