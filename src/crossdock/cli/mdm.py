"""`crossdock mdm`: customer master data. Deduplicate a system's existing customers, and work the stewardship queue
(list cases, compare one side by side, merge or keep apart, unmerge, finish what a crash cut short).

Needs an `mdm:` section in crossdock.yaml (`mdm: {}` takes the defaults).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from crossdock.bootstrap import Runtime, bootstrap
from crossdock.cli.common import actor_or_user, console, fail, print_json, progress_bar, run_async, settings_from
from crossdock.mdm.stewardship import Decision
from crossdock.mdm.system_dedupe import DedupeReport, SystemDedupe, read_customers
from crossdock.ports.mdm import AlreadyMergedError, CaseDecidedError, CaseState, StewardshipCase, UnknownCaseError

mdm_app = typer.Typer(
    help="Customer master data: batch dedupe of a system, and the stewardship queue.", no_args_is_help=True
)
JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]
ActorOption = Annotated[str | None, typer.Option(help="who decides, for the record (default: your user name)")]
_STAGES = {
    "normalise": "normalising",
    "block": "blocking",
    "compare": "comparing pairs",
    "train": "training the model",
    "cluster": "clustering",
}
_STEWARD_ERRORS = (CaseDecidedError, UnknownCaseError, AlreadyMergedError, LookupError, ValueError)


@asynccontextmanager
async def _runtime(ctx: typer.Context) -> AsyncIterator[Runtime]:
    settings = settings_from(ctx)
    if settings.mdm is None:
        fail("master data is not configured: add an `mdm:` section to crossdock.yaml (`mdm: {}` takes the defaults)")
    runtime = await bootstrap(settings)
    try:
        yield runtime
    finally:
        await runtime.close()


@mdm_app.command()
def dedupe(
    ctx: typer.Context,
    system: Annotated[str, typer.Option("--system", help="the system whose customers to deduplicate (erp, crm)")],
    auto_merge: Annotated[
        bool, typer.Option("--auto-merge", help="merge confident duplicates at once instead of opening cases")
    ] = False,
    json: JsonFlag = False,
) -> None:
    """Read every customer of a system, cluster the duplicates, and open stewardship cases for them."""

    async def work() -> DedupeReport:
        async with _runtime(ctx) as runtime:
            connector = runtime.unguarded(system)
            parts = runtime.master_data()
            from crossdock.sync.matching import GoldenAdoption

            adopt = GoldenAdoption(runtime.golden_governor())
            job = SystemDedupe(runtime.store, parts.stewardship, adopt, parts.gate.thresholds)
            report = DedupeReport(system)
            with progress_bar(json, elapsed=True) as progress:
                reading = progress.add_task(f"reading {system} customers", total=None)
                customers = await read_customers(
                    connector,
                    runtime.mappings.inbound(system, "customer"),
                    progress=lambda n: progress.update(reading, completed=n),
                )
                progress.update(reading, total=len(customers), completed=len(customers))
                tying = progress.add_task("tying to golden records", total=len(customers))
                records = job.tie(system, customers, report)
                progress.update(tying, completed=len(records))
                tasks: dict[str, Any] = {}

                def advance(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = progress.add_task(_STAGES.get(stage, stage), total=total)
                    progress.update(tasks[stage], completed=done, total=total)

                result = job.cluster(records, progress=advance)
                await job.act(result, records, report, auto_merge=auto_merge)
            return report

    report = run_async(work)
    if json:
        print_json(
            {
                "system": report.system,
                "records": report.records,
                "adopted": report.adopted,
                "clusters": [
                    [{"canonical_id": c, "local_id": report.local_ids.get(c), "name": report.names.get(c)} for c in cl]
                    for cl in report.clusters
                ],
                "review_pairs": report.review_pairs,
                "cases_opened": report.cases_opened,
                "already_asked": report.already_asked,
                "merged": report.merged,
                "seconds": report.result.seconds if report.result is not None else {},
            }
        )
        return
    console.print(
        f"{report.records} customers in {escape(report.system)} ({report.adopted} new to Crossdock): "
        f"{len(report.clusters)} duplicate clusters, {report.review_pairs} pairs for review; "
        f"{report.cases_opened} cases opened, {report.merged} merged, {report.already_asked} asked before."
    )
    if report.clusters:
        table = Table("cluster", "survivor", "duplicates")
        for n, cluster in enumerate(report.clusters, start=1):
            survivor, *others = cluster
            table.add_row(
                str(n),
                escape(f"{report.names.get(survivor, '')} ({report.local_ids.get(survivor, survivor)})"),
                escape(", ".join(f"{report.names.get(c, '')} ({report.local_ids.get(c, c)})" for c in others)),
            )
        console.print(table)


def _case_row(case: StewardshipCase) -> dict[str, Any]:
    return {
        "id": case.id,
        "state": case.state.value,
        "left": case.left,
        "left_name": case.left_record.get("name"),
        "right": case.right,
        "right_name": case.right_record.get("name"),
        "probability": round(case.probability, 3),
        "source_system": case.source_system,
        "opened_at": case.opened_at,
        "decided_by": case.decided_by,
        "decided_at": case.decided_at,
        "held": bool(case.held),
    }


@mdm_app.command()
def cases(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="open, merged, kept_apart (default: open)")] = "open",
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    json: JsonFlag = False,
) -> None:
    """The stewardship queue: likely duplicates waiting for (or given) a decision."""
    try:
        wanted = CaseState(state) if state else None
    except ValueError:
        fail(f"unknown state {state!r}; use one of: {', '.join(s.value for s in CaseState)}")

    async def work() -> list[StewardshipCase]:
        async with _runtime(ctx) as runtime:
            return runtime.master_data().stewardship.cases(state=wanted, limit=limit)

    found = run_async(work)
    if json:
        print_json([_case_row(case) for case in found])
        return
    if not found:
        console.print("no cases")
        return
    table = Table("id", "state", "arriving / duplicate", "golden record", "p", "from", "opened")
    for case in found:
        row = _case_row(case)
        table.add_row(
            str(case.id),
            case.state.value,
            escape(f"{row['left_name'] or ''} ({case.left})"),
            escape(f"{row['right_name'] or ''} ({case.right})"),
            f"{case.probability:.2f}",
            escape(case.source_system or "batch"),
            case.opened_at.strftime("%Y-%m-%d %H:%M") if case.opened_at else "",
        )
    console.print(table)


@mdm_app.command()
def show(
    ctx: typer.Context, case_id: Annotated[int, typer.Argument(help="the case's id")], json: JsonFlag = False
) -> None:
    """One case side by side: each field of both records, how the matcher judged it, and what waits."""

    async def work() -> Any:
        async with _runtime(ctx) as runtime:
            return runtime.master_data().stewardship.compare(case_id)

    try:
        comparison = run_async(work)
    except _STEWARD_ERRORS as error:
        fail(str(error))
    if json:
        print_json({**asdict(comparison), "case": _case_row(comparison.case)})
        return
    case = comparison.case
    console.print(
        f"case {case.id} ({case.state.value}), p={case.probability:.2f}: {escape(case.left)} vs "
        f"{escape(comparison.survivor_id)}; waiting: {escape(comparison.held)}"
    )
    table = Table("field", "arriving / duplicate", "golden record", "judged")
    for row in comparison.rows:
        judged = f"{row.agreement} ({row.weight:+.1f})" if row.agreement is not None and row.weight is not None else ""
        table.add_row(row.field, escape(str(row.left or "")), escape(str(row.right or "")), judged)
    console.print(table)
    links = ", ".join(f"{system}:{local}" for system, local in comparison.survivor_links) or "none"
    console.print(f"golden record's records: {escape(links)}")


@mdm_app.command()
def decide(
    ctx: typer.Context,
    case_id: Annotated[int, typer.Argument(help="the case's id")],
    decision: Annotated[Decision, typer.Argument(help="merge (one customer) or keep_apart (two customers)")],
    actor: ActorOption = None,
    note: Annotated[str | None, typer.Option(help="why, for the record")] = None,
    json: JsonFlag = False,
) -> None:
    """Decide a case; what it held is let through and a merge is carried to the systems."""

    async def work() -> Any:
        async with _runtime(ctx) as runtime:
            return await runtime.master_data().stewardship.decide(
                case_id, decision, actor=actor_or_user(actor), note=note
            )

    try:
        result = run_async(work)
    except _STEWARD_ERRORS as error:
        fail(str(error))
    summary = {
        "case": result.case.id,
        "state": result.case.state.value,
        "outcome": result.outcome.value if result.outcome else None,
        "customer": result.canonical_id,
        "merge": result.merge.id if result.merge else None,
        "released": result.release,
        "carried": result.carried,
    }
    if json:
        print_json(summary)
        return
    console.print(escape(", ".join(f"{key}: {value}" for key, value in summary.items() if value)))


@mdm_app.command()
def unmerge(
    ctx: typer.Context,
    merge_id: Annotated[int, typer.Argument(help="the merge's id (`crossdock mdm merges`)")],
    actor: ActorOption = None,
) -> None:
    """Undo a merge: the loser's golden record, cross-references and system records come back."""

    async def work() -> Any:
        async with _runtime(ctx) as runtime:
            return await runtime.master_data().stewardship.unmerge(merge_id, actor=actor_or_user(actor))

    try:
        record = run_async(work)
    except _STEWARD_ERRORS as error:
        fail(str(error))
    console.print(f"merge {record.id} undone: {escape(record.loser_id)} stands apart from {escape(record.winner_id)}")


@mdm_app.command()
def merges(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Option(help="only merges of this canonical id")] = None,
    json: JsonFlag = False,
) -> None:
    """Merges of golden customers, newest first, with what carrying each did in the systems."""

    async def work() -> Any:
        async with _runtime(ctx) as runtime:
            with runtime.store.unit_of_work(read_only=True) as uow:
                return uow.mdm.merges("customer", customer)

    found = run_async(work)
    rows = [
        {
            "id": m.id,
            "state": m.state.value,
            "winner": m.winner_id,
            "loser": m.loser_id,
            "actor": m.actor,
            "case": m.case_id,
            "merged_at": m.merged_at,
            "carried": m.carried,
        }
        for m in found
    ]
    if json:
        print_json(rows)
        return
    table = Table("id", "state", "survivor", "merged away", "by", "carried")
    for row in rows:
        carried = ", ".join(f"{k}: {v}" for k, v in row["carried"].items())
        table.add_row(str(row["id"]), row["state"], row["winner"], row["loser"], escape(row["actor"]), escape(carried))
    console.print(table)


@mdm_app.command()
def resume(ctx: typer.Context) -> None:
    """Let through what decided cases still hold and carry merges not yet carried (after a crash)."""

    async def work() -> int:
        async with _runtime(ctx) as runtime:
            return await runtime.master_data().stewardship.resume()

    console.print(f"{run_async(work)} cases and merges taken up")
