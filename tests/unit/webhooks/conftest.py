"""The webhook tests' clock."""

from __future__ import annotations

import pytest

from tests.unit.webhooks.support import START, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)
