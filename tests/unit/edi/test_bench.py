"""The benchmark's generated file is valid X12 (so the throughput it reports is for real, valid input)."""

from __future__ import annotations

from pathlib import Path

from crossdock.bench.edi import measure, write_purchase_orders


def test_benchmark_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "orders.edi"
    sets = write_purchase_orders(path, 0.3)
    result = measure(path, runs=1)
    assert result["transaction_sets"] == sets > 0
    assert result["findings"] == 0
