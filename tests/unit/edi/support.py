"""Shared helpers for the X12 tests: where the shared sample files live, and small builders."""

from __future__ import annotations

from pathlib import Path

from crossdock.edi.x12 import TransactionSet, read_transaction_sets
from crossdock.edi.x12.maps import X12Context

# Copies of the shared samples (../shared/fixtures/x12 beside the checkout), byte for byte with their licences in
# SOURCES.md: a clean clone in CI has no ../shared. `test_fixture_copies` holds the copies to the originals.
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "x12"
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "x12"
FIXTURE_FILES = sorted(FIXTURES.glob("*.edi"))


def fixture(name: str) -> bytes:
    """The bytes of one shared sample file."""
    return (FIXTURES / name).read_bytes()


def only_set(data: bytes, *, strict: bool = True) -> TransactionSet:
    """The single transaction set of `data`."""
    sets, _ = read_transaction_sets(data, strict=strict)
    assert len(sets) == 1
    return sets[0]


CONTEXT = X12Context(sender_id="partner_1", receiver_id="crossdock", ship_to_location_id="MAIN")
