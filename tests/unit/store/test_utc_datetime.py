"""`UtcDateTime` binds SQLite text in one step; it must be the text SQLAlchemy's own chain would store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from crossdock.store.tables import UtcDateTime

DIALECT = sqlite.dialect()
FAST = UtcDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
CHAINED = sa.DateTime().dialect_impl(DIALECT).bind_processor(DIALECT)  # what the decorator's impl would write
READ = UtcDateTime().dialect_impl(DIALECT).result_processor(DIALECT, None)


@given(
    st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_the_one_step_text_is_sqlalchemys_and_reads_back_as_the_same_instant(naive: datetime, offset_min: int) -> None:
    aware = naive.replace(tzinfo=timezone(timedelta(minutes=offset_min)))
    assert FAST is not None
    assert CHAINED is not None
    assert READ is not None
    text = FAST(aware)
    assert text == CHAINED(aware.astimezone(UTC).replace(tzinfo=None))
    assert READ(text) == aware


def test_none_stays_none_and_a_naive_time_is_refused() -> None:
    assert FAST is not None
    assert FAST(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        FAST(datetime(2026, 11, 23, 8, 0))
