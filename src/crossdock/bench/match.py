"""Benchmark of customer matching: batch dedupe quality and speed, online lookup latency, and Splink on the same data.

- Batch: `crossdock.mdm.batch.dedupe` over `records` generated customer records (`bench.customer_data`), trained
  on them without labels; precision, recall and F1 are pairwise against the generator's duplicate clusters (a
  predicted pair is right when both records belong to one customer).
- Online: every record indexed as a golden record in `InMemoryMatchIndex`, then `queries` held-out records (not in
  the index; most have duplicates in it) looked up one at a time; p50/p99 latency per lookup, and how often the
  best candidate is a true duplicate.
- Splink (dev extra, DuckDB backend) dedupes the same records, normalised by our normaliser as Splink expects
  cleaned input, with its documented comparisons, comparable blocking rules, u by random sampling and m by EM
  sessions; its clusters at the same link threshold are scored the same way. `splink_seconds` is Splink's own
  training, prediction and clustering, without the normalisation of its input (done by the index build), which
  our `batch_seconds` includes. If `splink_records` is below `records`, ours is also measured on that sample
  (`f1_at_splink_records`), so the F1 comparison is always on the same records.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from crossdock.bench.customer_data import LabelledCustomers, generate
from crossdock.mdm.batch import dedupe
from crossdock.mdm.index import InMemoryMatchIndex
from crossdock.mdm.matching import CustomerScorer
from crossdock.mdm.model import CustomerRecord, Thresholds
from crossdock.mdm.normalize import NormalisedCustomer

_SEED = 7


def _pairs_within(groups: Sequence[Any]) -> int:
    return sum(n * (n - 1) // 2 for n in Counter(groups).values())


def pairwise_scores(predicted: Sequence[int], truth: Sequence[int]) -> dict[str, float]:
    """Pairwise precision, recall and F1 of predicted cluster labels against true ones (one label per record)."""
    true_positive = _pairs_within(list(zip(predicted, truth, strict=True)))
    predicted_pairs, true_pairs = _pairs_within(predicted), _pairs_within(truth)
    precision = true_positive / predicted_pairs if predicted_pairs else 1.0
    recall = true_positive / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


@contextlib.contextmanager
def _bulk_load() -> Iterator[None]:
    """No cyclic garbage collection while millions of objects are built (none of them cyclic); as `batch` does."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _golden_index(golden: Sequence[CustomerRecord], scorer: CustomerScorer) -> tuple[InMemoryMatchIndex, float]:
    started = time.perf_counter()
    index = InMemoryMatchIndex(scorer)
    with _bulk_load():
        for record in golden:
            index.add(record)
    return index, time.perf_counter() - started


def _online(index: InMemoryMatchIndex, queries: LabelledCustomers, truth: dict[str, int]) -> dict[str, Any]:
    latencies, hits, answered = [], 0, 0
    for record, customer in zip(queries.records, queries.customer, strict=True):
        started = time.perf_counter()
        best = index.best(record, limit=5)
        latencies.append((time.perf_counter() - started) * 1000)
        if best:
            answered += 1
            hits += truth[best[0].candidate_id] == customer
    in_index = set(truth.values())
    answerable = sum(customer in in_index for customer in queries.customer)  # queries with a duplicate indexed
    latencies.sort()
    return {
        "online_queries": len(latencies),
        "online_p50_ms": round(statistics.median(latencies), 3),
        "online_p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 3),
        "online_top1_precision": round(hits / answered, 4) if answered else 1.0,
        "online_top1_recall": round(hits / answerable, 4) if answerable else 1.0,
    }


def _splink_table(customers: Sequence[NormalisedCustomer]) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped]

    def column(values: Iterable[str]) -> list[str | None]:
        return [value or None for value in values]  # Splink reads NULL as missing

    return pa.table(
        {
            "unique_id": list(range(len(customers))),
            "name": column(c.name_sorted for c in customers),
            "initials": column("".join(w[0] for w in c.name_sorted.split()) for c in customers),
            "tax_id": column(c.tax_id for c in customers),
            "street": column(c.street for c in customers),
            "house_number": column(c.house_number for c in customers),
            "city": column(c.city for c in customers),
            "postal_code": column(c.postal_code for c in customers),
            "phone": column(c.phone for c in customers),
            "email": column(c.email for c in customers),
        }
    )


def splink_dedupe(customers: Sequence[NormalisedCustomer], link_threshold: float) -> tuple[list[int], dict[str, Any]]:
    """Cluster labels per (normalised) record from Splink, and its timings; ImportError without the dev extra."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    table = _splink_table(customers)
    prepared = time.perf_counter()
    db_api = DuckDBAPI()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("name", [0.95, 0.88, 0.7]).configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("tax_id", [1]),
            cl.JaroWinklerAtThresholds("street", [0.95, 0.88]),
            cl.JaroWinklerAtThresholds("city", [0.92]),
            cl.ExactMatch("postal_code"),
            cl.ExactMatch("phone"),
            cl.EmailComparison("email"),
        ],
        # The same keys as ours (crossdock.mdm.blocking); Splink expands every block in full.
        blocking_rules_to_generate_predictions=[
            block_on("tax_id"),
            block_on("phone"),
            block_on("email"),
            block_on("name"),
            block_on("postal_code", "house_number"),
            block_on("initials", "postal_code"),
            block_on("initials", "city"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    linker = Linker(db_api.register(table), settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("name", "postal_code"), block_on("tax_id", "postal_code")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=_SEED)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postal_code", "house_number"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=link_threshold
    )
    table = clusters.as_pyarrow_table()  # type: ignore[no-untyped-call]
    rows = table.select(["unique_id", "cluster_id"]).to_pydict()
    finished = time.perf_counter()
    labels: list[Any] = list(range(len(customers)))
    for unique_id, cluster_id in zip(rows["unique_id"], rows["cluster_id"], strict=True):
        labels[int(unique_id)] = cluster_id
    return labels, {
        "splink_seconds": round(finished - prepared, 1),
        "splink_prepare_seconds": round(prepared - started, 1),
    }


def _labels(values: npt.NDArray[np.int64]) -> list[int]:
    return [int(v) for v in values.tolist()]


def _splink_comparison(
    golden: LabelledCustomers, customers: Sequence[NormalisedCustomer], thresholds: Thresholds
) -> dict[str, Any]:
    """Splink's scores and seconds on the first records, and ours on the same ones if that is fewer than all."""
    records = len(customers)
    truth = golden.customer[:records]
    try:
        labels, seconds = splink_dedupe(customers, thresholds.link)
    except ImportError as error:
        return {"splink": f"not installed ({error.name}); pip install -e '.[dev]'"}
    result: dict[str, Any] = {f"splink_{key}": value for key, value in pairwise_scores(labels, truth).items()}
    result.update(seconds)
    result["splink_records"] = records
    if records < len(golden.records):
        ours = dedupe(golden.records[:records], thresholds=thresholds)
        result["f1_at_splink_records"] = pairwise_scores(_labels(ours.labels), truth)["f1"]
    return result


def run(
    records: int = 1_000_000,
    *,
    queries: int = 1_000,
    splink: bool = True,
    splink_records: int | None = None,
    seed: int = _SEED,
) -> dict[str, Any]:
    """Generate, dedupe, look up, and compare with Splink; one JSON-ready dict."""
    logging.getLogger("splink").setLevel(logging.WARNING)
    splink_records = records if splink_records is None else min(splink_records, records)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with _bulk_load():
        data = generate(records + queries, seed=seed)
    golden = LabelledCustomers(data.records[:records], data.customer[:records], data.company[:records])
    held_out = LabelledCustomers(data.records[records:], data.customer[records:], data.company[records:])
    generated = time.perf_counter() - started
    thresholds = Thresholds()

    started = time.perf_counter()
    batch = dedupe(golden.records, thresholds=thresholds)
    batch_seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "benchmark": "match",
        "records": records,
        **pairwise_scores(_labels(batch.labels), golden.customer),
        "batch_seconds": round(batch_seconds, 1),
        "batch_step_seconds": batch.seconds,
        "pairs_compared": batch.candidate_pairs,
        "linked_pairs": batch.linked_pairs,
        "review_pairs": len(batch.review),
        "clusters": len(batch.clusters),
        "true_clusters": sum(1 for n in Counter(golden.customer).values() if n > 1),
        "true_duplicate_pairs": golden.duplicate_pairs(),
        "link_threshold": thresholds.link,
        "generate_seconds": round(generated, 1),
    }
    index, build_seconds = _golden_index(golden.records, CustomerScorer(batch.model, thresholds))
    del batch
    truth = {record.record_id: customer for record, customer in zip(golden.records, golden.customer, strict=True)}
    result.update(_online(index, held_out, truth))
    result["index_build_seconds"] = round(build_seconds, 1)
    if splink:
        # Splink is given the records as our normaliser left them (the index holds them), as it expects clean input.
        customers = [index.customer(record.record_id) for record in golden.records[:splink_records]]
        result.update(_splink_comparison(golden, [c for c in customers if c is not None], thresholds))
    del index
    result["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    result["cores"] = os.cpu_count()
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000), indent=2))
