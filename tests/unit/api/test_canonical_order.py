"""The API builds its canonical order document by hand (it is the hot path); the canonical model must read it as
exactly the order that was submitted."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crossdock.api.order_submission import canonical_order
from crossdock.api.schemas import OrderSubmission
from crossdock.model.sales import SalesOrder

quantities = st.decimals(min_value="0.000001", max_value="9999999", places=6, allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value="0", max_value="999999", places=6, allow_nan=False, allow_infinity=False)
lines = st.lists(
    st.fixed_dictionaries(
        {"sku": st.from_regex(r"[A-Z][A-Z0-9-]{0,10}", fullmatch=True), "quantity": quantities, "unit_price": prices},
        optional={"uom": st.sampled_from(["EA", "CS", "BX", "KG"]), "requested_date": st.dates()},
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=60, deadline=None)
@given(
    lines=lines,
    notes=st.none() | st.text(min_size=1, max_size=40).filter(str.strip),
    requested=st.none() | st.dates(),
    region=st.none() | st.just("OH"),
)
def test_the_hand_built_document_is_what_the_canonical_model_makes_of_it(
    lines: list[dict[str, Any]], notes: str | None, requested: Any, region: str | None
) -> None:
    body: dict[str, Any] = {
        "customer_reference": "PO-1",
        "currency": "USD",
        "ship_to": {"lines": ["1 Main St"], "city": "Toronto", "country": "GB"}
        | ({"region": region} if region else {}),
        "lines": lines,
    }
    if notes is not None:
        body["notes"] = notes
    if requested is not None:
        body["requested_date"] = requested.isoformat()
    submission = OrderSubmission.model_validate(body)
    document = canonical_order("ord-1", "API-c-PO-1", "cus-1", submission, "2026-11-22")
    order = SalesOrder.model_validate(document)
    assert [
        (line.sku, line.ordered_quantity.value, line.ordered_quantity.uom, line.unit_price.amount)
        for line in order.lines
    ] == [(line.sku, line.quantity, line.uom, line.unit_price) for line in submission.lines]
    assert [line.requested_date for line in order.lines] == [line.requested_date for line in submission.lines]
    assert all(line.shipped_quantity.value == line.backordered_quantity.value == 0 for line in order.lines)
    assert (order.status.value, order.customer_po, order.notes, order.requested_date) == (
        "submitted",
        "PO-1",
        submission.notes,
        submission.requested_date,
    )
    assert order.ship_to is not None
    assert (order.ship_to.lines, order.ship_to.city, order.ship_to.region) == (["1 Main St"], "Toronto", region)
    # What consumers read back is stable: the canonical form of the document reads as the same order.
    assert SalesOrder.model_validate(order.model_dump(mode="json")) == order


@given(name=st.text(max_size=80))
def test_name_uuid_is_uuid5(name: str) -> None:
    import uuid

    from crossdock.api.order_submission import _NAMESPACE, name_uuid

    assert name_uuid(name) == str(uuid.uuid5(_NAMESPACE, name))
