"""`crossdock bench`: benchmarks that print one JSON object each (`--json`) or a short table."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.table import Table

from crossdock.cli.common import console, errors, fail, print_json

bench_app = typer.Typer(
    help="Measure throughput and latency; see bench/ in the docs for what each figure means.", no_args_is_help=True
)
JsonFlag = Annotated[bool, typer.Option("--json", help="print one JSON object")]


@contextlib.contextmanager
def _working(what: str, quiet: bool) -> Iterator[None]:
    """A spinner on stderr while a benchmark runs (none when printing JSON for a script)."""
    if quiet:
        yield
        return
    with errors.status(what):
        yield


def _show(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    table = Table("figure", "value", title=f"bench {result.get('benchmark', '')}")
    for key, value in result.items():
        table.add_row(key, str(value))
    console.print(table)


@bench_app.command("log")
def bench_log(
    backend: Annotated[str, typer.Option(help="sqlite, postgres or nats")] = "sqlite",
    events: Annotated[int, typer.Option(help="events to append (1 KiB each)")] = 100_000,
    postgres_url: Annotated[str | None, typer.Option(envvar="CROSSDOCK_BENCH_POSTGRES_URL")] = None,
    nats_url: Annotated[
        str | None, typer.Option(envvar="CROSSDOCK_BENCH_NATS_URL", help="default: a durable server from the wheel")
    ] = None,
    validate: Annotated[bool, typer.Option(help="validate every event against its registered schema")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Append and end-to-end throughput of the event log at full durability, against a raw baseline."""
    from crossdock.bench import log as log_bench

    if backend not in {"sqlite", "postgres", "nats"}:
        fail(f"unknown backend {backend!r}; choose sqlite, postgres or nats")
    factory = log_bench.validating_publisher if validate else None
    _show(
        log_bench.run(backend, events, postgres_url=postgres_url, nats_url=nats_url, publish_factory=factory), as_json
    )


@bench_app.command("mapping")
def bench_mapping(
    records: Annotated[int, typer.Option(help="records to map")] = 100_000,
    as_json: JsonFlag = False,
) -> None:
    """Records per second through a compiled 40-field customer mapping."""
    from crossdock.bench import mapping as mapping_bench

    with _working(f"bench mapping: {records:,} records", as_json):
        result = mapping_bench.run(records)
    _show(result, as_json)


@bench_app.command("crm-sync")
def bench_crm_sync(
    customers: Annotated[int, typer.Option(help="ERP customers to sync into the CRM")] = 10_000,
    as_json: JsonFlag = False,
) -> None:
    """ERP customers from a real Tryton into the Salesforce sandbox: API calls per 1,000 records and throughput."""
    from crossdock.bench import crm_sync

    with _working(f"bench crm-sync: {customers:,} customers (Tryton → Salesforce sandbox)", as_json):
        result = crm_sync.run(customers)
    _show(result, as_json)


@bench_app.command("process")
def bench_process(
    processes: Annotated[int, typer.Option(help="processes to run on each engine")] = 2_000,
    # 10 in flight is one worker's share of a busy order desk; more raises throughput (and the commit group each
    # step waits for): at 50, about 1,200 processes/s with a step p99 near 7 ms here.
    in_flight: Annotated[int, typer.Option(help="processes running at once, on each engine")] = 10,
    dbos: Annotated[bool, typer.Option(help="also run the same workflow on DBOS (if installed)")] = True,
    as_json: JsonFlag = False,
) -> None:
    """A 3-step process with durable checkpoints on SQLite (full durability): ours against DBOS in the same run."""
    from crossdock.bench import process as process_bench

    if processes < 1 or in_flight < 1:
        fail("--processes and --in-flight must be at least 1")
    with _working(f"bench process: {processes:,} processes, {in_flight} in flight", as_json):
        result = process_bench.run(processes, in_flight, dbos=dbos)
    _show(result, as_json)


@bench_app.command("api")
def bench_api(
    connections: Annotated[int, typer.Option(help="keep-alive connections, one request at a time each")] = 128,
    seconds: Annotated[float, typer.Option(help="measured seconds, after the warm-up")] = 10.0,
    warmup: Annotated[float, typer.Option(help="seconds of load before each round's measurement")] = 2.0,
    rounds: Annotated[int, typer.Option(help="alternating bare and real runs; the measured seconds are shared")] = 3,
    as_json: JsonFlag = False,
) -> None:
    """Durable, idempotent, authenticated order submissions against the API, and a bare FastAPI endpoint."""
    from crossdock.bench import api as api_bench

    if connections < 1 or seconds <= 0 or rounds < 1:
        fail("--connections and --rounds must be at least 1 and --seconds above 0")
    with _working(f"bench api: {connections} connections, {seconds:g} s (and the bare endpoint)", as_json):
        result = api_bench.run(connections, seconds, warmup, rounds)
    _show(result, as_json)


@bench_app.command("edi")
def bench_edi(
    size_mb: Annotated[int, typer.Option(help="size of the generated file of 850s, in MB")] = 50,
    bots: Annotated[bool, typer.Option(help="also parse a sample with bots (if installed)")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Parse and validate a generated file of X12 850s, streamed; memory and bots in the same run."""
    from crossdock.bench import edi as edi_bench

    if size_mb < 1:
        fail("--size-mb must be at least 1")
    with _working(f"bench edi: {size_mb} MB of 850s", as_json):
        result = edi_bench.run(size_mb, bots=bots)
    _show(result, as_json)


@bench_app.command("match")
def bench_match(
    records: Annotated[int, typer.Option(help="generated customer records to dedupe (and to index as golden)")] = (
        1_000_000
    ),
    queries: Annotated[int, typer.Option(help="held-out records looked up one at a time against the index")] = 1_000,
    splink: Annotated[bool, typer.Option(help="also dedupe the records with Splink (if installed)")] = True,
    splink_records: Annotated[
        int | None, typer.Option(help="records Splink dedupes (default: all); ours is also measured on that sample")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the generated data")] = 7,
    as_json: JsonFlag = False,
) -> None:
    """Customer matching: batch dedupe F1 and seconds, online lookup p99, and Splink on the same data."""
    from crossdock.bench import match as match_bench

    if records < 2 or queries < 1:
        fail("--records must be at least 2 and --queries at least 1")
    with _working(f"bench match: {records:,} customer records (and Splink)", as_json):
        result = match_bench.run(records, queries=queries, splink=splink, splink_records=splink_records, seed=seed)
    _show(result, as_json)
