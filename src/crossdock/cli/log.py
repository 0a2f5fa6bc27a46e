"""`crossdock log`: look into the event log and operate it (tail, lag, replay, dead letters, publish)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from crossdock.bootstrap import flows_from_settings, open_log, schema_validator
from crossdock.cli.common import console, fail, print_json, progress_bar, run_async, settings_from
from crossdock.config import Settings
from crossdock.events.envelope import CloudEvent
from crossdock.ports.event_log import EventLog, LoggedEvent
from crossdock.sync.publish import Publisher

log_app = typer.Typer(help="Inspect and operate the event log.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: list them, hand them back to their group.", no_args_is_help=True)
log_app.add_typer(dlq_app, name="dlq")

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]


async def _with_log(settings: Settings, work: Any) -> Any:
    log = await open_log(settings)
    try:
        return await work(log)
    finally:
        await log.close()


def _row(logged: LoggedEvent) -> dict[str, Any]:
    return {"offset": logged.offset, "partition": logged.partition, **logged.event.to_dict()}


@log_app.command()
def tail(
    ctx: typer.Context,
    from_offset: Annotated[int, typer.Option("--from", help="first offset (default: the last --limit events)")] = 0,
    partition: Annotated[int | None, typer.Option(help="only this partition")] = None,
    limit: Annotated[int, typer.Option(help="how many events")] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing new events")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print events from the log, newest last."""
    settings = settings_from(ctx)

    async def work(log: EventLog) -> None:
        start = from_offset
        if start == 0 and not follow:
            everything = await log.read(partition, 1, 10**9) if limit else []
            start = everything[-limit].offset if len(everything) > limit else 1
        while True:
            batch = await log.read(partition, start, limit if not follow else 500)
            for logged in batch:
                if as_json:
                    print(orjson.dumps(_row(logged)).decode())
                else:
                    event = logged.event
                    console.print(
                        f"[dim]{logged.offset:>8} p{logged.partition:<3}[/] {event.time} "
                        f"[bold]{event.type}[/] {event.subject} [dim]{event.source} {event.id}[/]"
                    )
            if batch:
                start = batch[-1].offset + 1
            if not follow:
                return
            await asyncio.sleep(0.5)

    run_async(lambda: _with_log(settings, work))


@log_app.command()
def lag(
    ctx: typer.Context,
    group: Annotated[str | None, typer.Option(help="one consumer group (default: all)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Events each consumer group has not acked yet."""
    settings = settings_from(ctx)

    configured = {flow.group(target) for flow in flows_from_settings(settings) for target in flow.targets}

    async def work(log: EventLog) -> dict[str, dict[int, int]]:
        # Configured flows count even before their first fetch: an idle flow with a backlog is what to look for.
        groups = [group] if group else sorted(set(await log.groups()) | configured)
        return {name: await log.lag(name) for name in groups}

    report: dict[str, dict[int, int]] = run_async(lambda: _with_log(settings, work))
    if as_json:
        print_json({name: {"total": sum(parts.values()), "partitions": parts} for name, parts in report.items()})
        return
    table = Table("group", "lag", "busiest partition", title="Consumer lag")
    for name, parts in sorted(report.items()):
        busiest = max(parts.items(), key=lambda item: item[1]) if parts else (0, 0)
        table.add_row(name, str(sum(parts.values())), f"p{busiest[0]} ({busiest[1]})")
    console.print(table)


@log_app.command()
def replay(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(help="consumer group, e.g. flow.customers.erp")],
    from_offset: Annotated[int | None, typer.Option("--from-offset", help="replay from this offset")] = None,
    from_time: Annotated[
        datetime | None, typer.Option("--from-time", help="replay events logged at or after this time (ISO 8601)")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Move a group back so it receives events again; the delivery journal keeps targets from double writes."""
    if (from_offset is None) == (from_time is None):
        fail("give exactly one of --from-offset or --from-time")
    settings = settings_from(ctx)
    if from_time is not None and from_time.tzinfo is None:
        fail("--from-time needs a time zone, e.g. 2026-11-22T08:00:00+00:00")
    if not yes:
        where = f"offset {from_offset}" if from_offset is not None else f"{from_time}"
        typer.confirm(f"Replay group {group} from {where}?", abort=True)

    async def work(log: EventLog) -> None:
        await log.seek(group, from_offset=from_offset, from_time=from_time)

    run_async(lambda: _with_log(settings, work))
    console.print(f"Group {group} will receive events again; already-journaled deliveries are skipped.")


@dlq_app.command("list")
def dlq_list(
    ctx: typer.Context,
    group: Annotated[str | None, typer.Option(help="one consumer group")] = None,
    limit: Annotated[int, typer.Option(help="how many")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Dead letters, oldest first, with the error that put them there."""
    settings = settings_from(ctx)

    async def work(log: EventLog) -> list[dict[str, Any]]:
        return [
            {
                "id": d.id,
                "group": d.group,
                "offset": d.offset,
                "attempts": d.attempts,
                "error": d.error,
                "dead_at": d.dead_at.isoformat(),
                "event": d.event.to_dict(),
            }
            for d in await log.dead_letters(group, limit)
        ]

    rows: list[dict[str, Any]] = run_async(lambda: _with_log(settings, work))
    if as_json:
        print_json(rows)
        return
    table = Table("id", "group", "offset", "type", "subject", "attempts", "error", title="Dead letters")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["group"],
            str(row["offset"]),
            row["event"]["type"],
            row["event"]["subject"],
            str(row["attempts"]),
            row["error"][:80],
        )
    console.print(table)


@dlq_app.command("redeliver")
def dlq_redeliver(
    ctx: typer.Context,
    ids: Annotated[list[int], typer.Argument(help="dead letter ids (see `crossdock log dlq list`)")],
) -> None:
    """Hand dead letters back to their group; each is delivered once more, skipped if already journaled."""
    settings = settings_from(ctx)

    async def work(log: EventLog) -> int:
        return await log.redeliver(ids)

    count: int = run_async(lambda: _with_log(settings, work))
    console.print(f"{count} of {len(ids)} dead letter(s) handed back to their groups.")


@log_app.command()
def publish(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CloudEvents in structured JSON, one per line", exists=True)],
    as_json: JsonFlag = False,
) -> None:
    """Validate every line, then append in batches; a bad line refuses the whole file, naming the line."""
    settings = settings_from(ctx)
    lines = file.read_text().splitlines()
    validate = schema_validator(settings)
    events: list[CloudEvent] = []
    with progress_bar(as_json) as progress:
        task = progress.add_task("checking", total=len(lines))
        for number, line in enumerate(lines, start=1):
            progress.advance(task)
            if not line.strip():
                continue
            try:
                event = CloudEvent.from_json(line)
                Publisher.check_with(event, validate)
            except ValueError as exc:
                fail(f"{file}:{number}: {exc}")
            events.append(event)

    async def work(log: EventLog) -> list[dict[str, Any]]:
        results = []
        with progress_bar(as_json) as progress:
            task = progress.add_task("appending", total=len(events))
            for start in range(0, len(events), 500):
                batch = events[start : start + 500]
                results.extend(await log.append(batch))
                progress.advance(task, len(batch))
        return [
            {"id": r.event_id, "offset": r.offset, "partition": r.partition, "duplicate": r.duplicate} for r in results
        ]

    results: list[dict[str, Any]] = run_async(lambda: _with_log(settings, work))
    if as_json:
        print_json(results)
    else:
        fresh = sum(1 for r in results if not r["duplicate"])
        console.print(f"{fresh} event(s) appended, {len(results) - fresh} already in the log.")
