"""`crossdock bench match` at a small size: every figure is there and plausible (no timing assertions)."""

from __future__ import annotations

import pytest

from crossdock.bench.match import pairwise_scores, run


def test_pairwise_scores() -> None:
    assert pairwise_scores([1, 1, 2, 3], [7, 7, 8, 9]) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    # One true pair (0, 1) found, one wrong pair (2, 3) predicted, one true pair (4, 5) missed.
    scores = pairwise_scores([1, 1, 2, 2, 3, 4], [7, 7, 8, 9, 5, 5])
    assert scores == {"precision": 0.5, "recall": 0.5, "f1": 0.5}


def test_a_small_run_reports_every_figure() -> None:
    result = run(2_500, queries=50, splink=False)
    assert result["records"] == 2_500
    assert result["f1"] >= 0.9
    assert 0 < result["precision"] <= 1
    assert 0 < result["recall"] <= 1
    assert result["pairs_compared"] > 0
    assert result["clusters"] > 0
    assert result["online_queries"] == 50
    assert result["online_p99_ms"] >= result["online_p50_ms"] > 0
    assert result["batch_seconds"] >= 0
    assert "splink_f1" not in result


def test_splink_runs_on_the_same_records_when_installed() -> None:
    pytest.importorskip("splink")
    result = run(1_000, queries=10, splink_records=800)
    assert result["splink_records"] == 800
    assert 0 < result["splink_f1"] <= 1
    assert "f1_at_splink_records" in result
