"""Dedupe a whole system's customers at once: a million records in about 40 s on this two-core machine.

The steps are the online matcher's, done in columns: normalise (in worker processes), block into candidate
pairs (`blocking`), compare every candidate pair at once (`comparisons.compare_columns`, rapidfuzz over numpy
arrays), learn the model from the data (`fellegi_sunter.train`) unless one is given, score, and join LINK pairs
into clusters (connected components). REVIEW pairs are returned separately, explained, for a data steward.

Pure and store-free: it takes records and returns clusters; the `crossdock mdm dedupe` command reads the records
and writes the outcome.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from crossdock.mdm import fellegi_sunter
from crossdock.mdm.blocking import BLOCKING_RULES, Pairs, block_pairs, key_code, unique_pairs
from crossdock.mdm.comparisons import FIELDS, ColumnLists, CustomerColumns, Levels, column_lists, compare_columns
from crossdock.mdm.fellegi_sunter import MatchModel
from crossdock.mdm.matching import CustomerScorer
from crossdock.mdm.model import CustomerRecord, MatchResult, Thresholds
from crossdock.mdm.normalize import normalise

# progress(stage, done, total): stages are "normalise", "block", "compare", "train", "cluster".
Progress = Callable[[str, int, int], None]

MIN_RECORDS_TO_TRAIN = 2_000  # fewer records teach EM little; the shipped model is better then
_CHUNK = 50_000  # records per normalisation task
_COMPARE_CHUNK = 1_000_000  # pairs compared at once; bounds memory at about 100 MB of strings per field
_EM_SAMPLE = 500_000
_RANDOM_PAIRS = 1_000_000
_PARALLEL_FROM = 100_000  # below this, starting worker processes costs more than it saves


@dataclass(frozen=True, slots=True)
class DedupeResult:
    """Clusters of duplicates and the pairs a steward should look at."""

    clusters: list[tuple[str, ...]]  # record ids of each group of two or more linked records
    review: list[MatchResult]  # likely duplicates below the link threshold, most likely first
    labels: npt.NDArray[np.int64]  # per input record, the index of the first record of its cluster
    model: MatchModel  # the model the pairs were scored with (trained on these records unless one was given)
    records: int
    candidate_pairs: int
    linked_pairs: int
    seconds: dict[str, float] = field(default_factory=dict)  # per step


def _no_progress(stage: str, done: int, total: int) -> None:
    """Progress is optional."""


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection during a dedupe, and the objects already alive set aside for the forks.

    Normalising allocates millions of small objects and creates no cycles, yet every full collection would walk
    all of them and the caller's million records too: measured, a third of the normalisation time. Freezing
    before the fork also keeps the workers from touching (and so copying) the parent's pages.
    """
    enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


# Records for forked workers to read: set just before the pool starts, so they are inherited, never pickled.
_RECORDS_FOR_WORKERS: Sequence[CustomerRecord] = ()


@dataclass(frozen=True, slots=True)
class _Normalised:
    """Normalised records as column lists, and each blocking rule's key codes; plain lists pickle fast."""

    columns: ColumnLists
    keys: dict[str, list[int]]

    def extend(self, other: _Normalised) -> None:
        for name, values in other.columns.items():
            self.columns[name].extend(values)  # type: ignore[arg-type]
        for name, codes in other.keys.items():
            self.keys[name].extend(codes)


def _normalise_chunk(bounds: tuple[int, int]) -> _Normalised:
    """Columns and blocking key codes of records[start:stop]."""
    start, stop = bounds
    customers = [normalise(record) for record in _RECORDS_FOR_WORKERS[start:stop]]
    return _Normalised(
        columns=column_lists(customers),
        keys={rule.name: [key_code(rule.key(c)) for c in customers] for rule in BLOCKING_RULES},
    )


def _normalise_all(records: Sequence[CustomerRecord], workers: int, progress: Progress) -> _Normalised:
    global _RECORDS_FOR_WORKERS  # noqa: PLW0603 - the fork hand-over described above
    chunks = [(start, min(start + _CHUNK, len(records))) for start in range(0, len(records), _CHUNK)]
    merged = _Normalised(column_lists([]), {rule.name: [] for rule in BLOCKING_RULES})
    _RECORDS_FOR_WORKERS = records
    try:
        if workers > 1 and len(records) >= _PARALLEL_FROM and "fork" in multiprocessing.get_all_start_methods():
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                parts = pool.imap(_normalise_chunk, chunks)
                for done, part in enumerate(parts, start=1):
                    merged.extend(part)
                    progress("normalise", chunks[done - 1][1], len(records))
        else:
            for chunk in chunks:
                merged.extend(_normalise_chunk(chunk))
                progress("normalise", chunk[1], len(records))
    finally:
        _RECORDS_FOR_WORKERS = ()
    return merged


def _candidates(normalised: _Normalised, records: int, progress: Progress) -> Pairs:
    """Candidate pairs of all blocking rules; in giant blocks, neighbours by name."""
    names = normalised.columns["name"]
    rank = np.empty(records, dtype=np.int64)
    rank[np.array(sorted(range(records), key=names.__getitem__), dtype=np.int64)] = np.arange(records)
    pairs = []
    for done, rule in enumerate(BLOCKING_RULES, start=1):
        pairs.append(block_pairs(np.array(normalised.keys[rule.name], dtype=np.int64), rank))
        progress("block", done, len(BLOCKING_RULES))
    return unique_pairs(pairs, records)


def _compare(columns: CustomerColumns, pairs: Pairs, workers: int, progress: Progress) -> Levels:
    left, right = pairs
    levels = np.empty((len(left), len(FIELDS)), dtype=np.int8)
    for start in range(0, len(left), _COMPARE_CHUNK):
        stop = min(start + _COMPARE_CHUNK, len(left))
        levels[start:stop] = compare_columns(columns, left[start:stop], right[start:stop], workers=workers)
        progress("compare", stop, len(left))
    return levels


def _random_pairs(records: int, count: int, rng: np.random.Generator) -> Pairs:
    left = rng.integers(0, records, size=count, dtype=np.int32)
    right = rng.integers(0, records, size=count, dtype=np.int32)
    distinct = left != right
    return left[distinct], right[distinct]


def _train(columns: CustomerColumns, levels: Levels, workers: int, progress: Progress) -> MatchModel:
    """The model learned from these records: u from random pairs, m and the prior by EM on candidates."""
    rng = np.random.default_rng(20240607)
    records = len(columns)
    random_pairs = _random_pairs(records, min(_RANDOM_PAIRS, records * 20), rng)
    random_levels = compare_columns(columns, *random_pairs, workers=workers)
    progress("train", 1, 2)
    sample = levels
    if len(levels) > _EM_SAMPLE:
        sample = levels[rng.choice(len(levels), size=_EM_SAMPLE, replace=False)]
    model = fellegi_sunter.train(sample, random_levels, candidate_pairs=len(levels), records=records)
    progress("train", 2, 2)
    return model


def _clusters(records: int, left: npt.NDArray[np.int32], right: npt.NDArray[np.int32]) -> npt.NDArray[np.int64]:
    """Connected components of the linked pairs: each record's label is the smallest record index of its cluster.

    Hook and compress in numpy: every pair points the larger of its two roots at the smaller, then every record
    jumps to its root; a few rounds settle it, since duplicate clusters are small.
    """
    labels = np.arange(records, dtype=np.int64)
    while len(left):
        root_left, root_right = labels[left], labels[right]
        apart = root_left != root_right
        if not apart.any():
            break
        lower = np.minimum(root_left[apart], root_right[apart])
        np.minimum.at(labels, root_left[apart], lower)
        np.minimum.at(labels, root_right[apart], lower)
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
    return labels


def dedupe(
    records: Sequence[CustomerRecord],
    *,
    model: MatchModel | None = None,
    thresholds: Thresholds | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> DedupeResult:
    """Find the duplicate clusters among `records` (record ids must be unique).

    Without a `model`, one is trained on the records themselves (or the shipped default is used for fewer than
    `MIN_RECORDS_TO_TRAIN`). `workers` defaults to the number of cores.
    """
    with _collector_paused():
        return _dedupe(
            records,
            model=model,
            thresholds=thresholds or Thresholds(),
            progress=progress or _no_progress,
            workers=workers or os.cpu_count() or 1,
        )


def _dedupe(
    records: Sequence[CustomerRecord],
    *,
    model: MatchModel | None,
    thresholds: Thresholds,
    progress: Progress,
    workers: int,
) -> DedupeResult:
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal started
        now = time.perf_counter()
        seconds[step] = round(now - started, 3)
        started = now

    normalised = _normalise_all(records, workers, progress)
    columns = CustomerColumns.from_lists(normalised.columns)
    lap("normalise")
    pairs = _candidates(normalised, len(records), progress)
    del normalised
    lap("block")
    levels = _compare(columns, pairs, workers, progress)
    lap("compare")
    if model is None:
        trainable = len(records) >= MIN_RECORDS_TO_TRAIN and len(levels) > 0
        model = _train(columns, levels, workers, progress) if trainable else MatchModel.default()
    lap("train")
    scorer = CustomerScorer(model, thresholds)
    probabilities = fellegi_sunter.probability(fellegi_sunter.score(model, levels))
    linked = probabilities >= thresholds.link
    labels = _clusters(len(records), pairs[0][linked], pairs[1][linked])
    progress("cluster", 1, 1)
    lap("cluster")
    review_rows = np.flatnonzero(~linked & (probabilities >= thresholds.review))
    review_rows = review_rows[np.argsort(-probabilities[review_rows], kind="stable")]
    ids = columns.record_ids
    review = [scorer.result(ids[pairs[0][row]], ids[pairs[1][row]], tuple(levels[row].tolist())) for row in review_rows]
    lap("explain")
    return DedupeResult(
        clusters=_cluster_ids(labels, ids),
        review=review,
        labels=labels,
        model=model,
        records=len(records),
        candidate_pairs=len(levels),
        linked_pairs=int(np.count_nonzero(linked)),
        seconds=seconds,
    )


def _cluster_ids(labels: npt.NDArray[np.int64], ids: list[str]) -> list[tuple[str, ...]]:
    """Record ids grouped by label, for clusters of two or more."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    stops = np.r_[starts[1:], len(order)]
    return [
        tuple(ids[i] for i in order[start:stop].tolist())
        for start, stop in zip(starts.tolist(), stops.tolist(), strict=True)
        if stop - start > 1
    ]
