"""Random damage to the shared samples produces typed X12 errors or a result, never another exception."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossdock.edi.x12 import TransactionSet, X12Error, acknowledge, read_transaction_sets, validate
from crossdock.edi.x12.maps import (
    read_functional_ack,
    read_inventory_advice,
    read_invoice,
    read_po_acknowledgement,
    read_purchase_order,
    read_ship_notice,
)

from .support import CONTEXT, FIXTURE_FILES

READERS: dict[str, Callable[[TransactionSet], object]] = {
    "850": lambda t: read_purchase_order(t, CONTEXT),
    "855": lambda t: read_po_acknowledgement(t, CONTEXT),
    "856": lambda t: read_ship_notice(t, CONTEXT),
    "810": lambda t: read_invoice(t, CONTEXT),
    "846": lambda t: read_inventory_advice(t, CONTEXT),
    "997": read_functional_ack,
}

_INTERESTING = b"*~>:^|\n\r 0123456789ANSEIGTQ-."
_damage = st.one_of(
    st.tuples(st.just("replace"), st.integers(0, 2000), st.sampled_from(list(_INTERESTING)) | st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 2000), st.integers(1, 40)),
    st.tuples(st.just("insert"), st.integers(0, 2000), st.binary(min_size=1, max_size=12)),
    st.tuples(st.just("truncate"), st.integers(0, 2000), st.just(0)),
)


def _apply(data: bytes, damage: list[tuple[str, int, object]]) -> bytes:
    for kind, offset, argument in damage:
        at = offset % (len(data) + 1)
        if kind == "replace" and data:
            at %= len(data)
            data = data[:at] + bytes([int(argument)]) + data[at + 1 :]  # type: ignore[call-overload]
        elif kind == "delete":
            data = data[:at] + data[at + int(argument) :]  # type: ignore[call-overload]
        elif kind == "insert":
            data = data[:at] + bytes(argument) + data[at:]  # type: ignore[call-overload]
        elif kind == "truncate":
            data = data[:at]
    return data


def _use(data: bytes) -> None:
    for strict in (True, False):
        try:
            sets, _ = read_transaction_sets(data, strict=strict)
        except X12Error:
            continue
        for transaction in sets:
            for step in (validate, READERS.get(transaction.set_id, validate)):
                with contextlib.suppress(X12Error):
                    step(transaction)
    with contextlib.suppress(X12Error):
        acknowledge(data)


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_damaged_samples_raise_only_x12_errors(path: object) -> None:
    original = path.read_bytes()  # type: ignore[attr-defined]

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(_damage, min_size=1, max_size=4))
    def check(damage: list[tuple[str, int, object]]) -> None:
        _use(_apply(original, damage))

    check()
