"""Fixtures for the event contract tests: a stand-in model and valid data for it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.unit.events.standins import Address, Customer, StandInModel


@pytest.fixture
def stand_in_model() -> StandInModel:
    """A fresh stand-in model per test."""
    return StandInModel()


@pytest.fixture
def customer_data() -> dict[str, Any]:
    """A valid customer as `model_dump(mode="json")` emits it."""
    customer = Customer(
        number="C-100",
        name="Acme Hardware",
        credit_limit=Decimal("5000.00"),
        bill_to=Address(line1="1 Dock St", city="Springfield", postal_code="12345", country="US"),
    )
    return customer.model_dump(mode="json")
