"""The batch dedupe on generated distributor data: clusters close to the truth, review pairs explained, progress."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from crossdock.bench.customer_data import LabelledCustomers, generate
from crossdock.bench.match import pairwise_scores
from crossdock.mdm.batch import MIN_RECORDS_TO_TRAIN, DedupeResult, _clusters, dedupe
from crossdock.mdm.fellegi_sunter import MatchModel
from crossdock.mdm.model import MatchDecision, Thresholds


@pytest.fixture(scope="module")
def data() -> LabelledCustomers:
    return generate(6_000, seed=5)


@pytest.fixture(scope="module")
def result(data: LabelledCustomers) -> DedupeResult:
    return dedupe(data.records, workers=1)


def test_clusters_match_the_labels(data: LabelledCustomers, result: DedupeResult) -> None:
    scores = pairwise_scores([int(v) for v in result.labels], data.customer)
    assert scores["precision"] >= 0.97
    assert scores["recall"] >= 0.93
    assert scores["f1"] >= 0.96


def test_branches_are_not_merged(data: LabelledCustomers, result: DedupeResult) -> None:
    """Records of different customers of one company (branches) rarely end in one cluster."""
    customers_per_cluster = Counter(label for label, _ in set(zip(result.labels.tolist(), data.customer, strict=True)))
    merged = sum(n - 1 for n in customers_per_cluster.values())
    assert merged <= len(set(data.customer)) * 0.01


def test_clusters_name_records_and_labels_agree(data: LabelledCustomers, result: DedupeResult) -> None:
    ids = [r.record_id for r in data.records]
    position = {record_id: i for i, record_id in enumerate(ids)}
    assert result.records == len(data.records)
    for cluster in result.clusters:
        assert len(cluster) >= 2
        assert len({int(result.labels[position[record_id]]) for record_id in cluster}) == 1
    assert sum(len(c) for c in result.clusters) == sum(n for n in Counter(result.labels.tolist()).values() if n > 1)


def test_review_pairs_are_explained_and_below_the_link_threshold(result: DedupeResult) -> None:
    thresholds = Thresholds()
    assert result.review
    assert all(thresholds.review <= r.probability < thresholds.link for r in result.review)
    assert all(r.decision is MatchDecision.REVIEW and r.fields for r in result.review)
    probabilities = [r.probability for r in result.review]
    assert probabilities == sorted(probabilities, reverse=True)


def test_the_model_is_learned_from_the_records(result: DedupeResult) -> None:
    model = result.model
    assert model.trained_on.startswith("6000 records")
    # What EM learns without labels: duplicates share the name's words and the street address far more than
    # chance does, and a shared phone says little once the name agreed (branches share head-office phones).
    assert model.m["name"][0] > 0.5
    assert model.m["address"][0] > 0.5
    assert model.u_same_company["phone"][0] > 0.3
    assert MatchModel.from_json(model.to_json()) == model


def test_progress_is_reported_for_each_step(data: LabelledCustomers) -> None:
    seen: dict[str, tuple[int, int]] = {}
    dedupe(data.records[:3_000], workers=1, progress=lambda stage, done, total: seen.__setitem__(stage, (done, total)))
    assert list(seen) == ["normalise", "block", "compare", "train", "cluster"]
    assert all(done == total for done, total in seen.values())


def test_few_records_use_the_shipped_model(data: LabelledCustomers) -> None:
    few = dedupe(data.records[: MIN_RECORDS_TO_TRAIN - 1], workers=1)
    assert few.model == MatchModel.default()
    assert dedupe([], workers=1).clusters == []


def test_linked_pairs_join_into_clusters_named_by_their_first_record() -> None:
    left = np.array([5, 1, 2, 7], dtype=np.int32)
    right = np.array([4, 2, 0, 7], dtype=np.int32)
    assert _clusters(8, left, right).tolist() == [0, 0, 0, 3, 4, 4, 6, 7]
