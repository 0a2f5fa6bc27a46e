"""`crossdock schemas`: list the event types and their schema versions, check and export model changes.

`check` is the CI gate: it regenerates every event type's schema from the current canonical model and exits
1 when a model change would break consumers of a registered version. `export` writes the compatible changes
as the next versions, ready to review and commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crossdock.events.catalogue import CATALOGUE, EventCatalogue, UnknownEventTypeError
from crossdock.events.compat import InvalidSchemaError
from crossdock.events.registry import (
    PACKAGED_SCHEMA_DIR,
    ExportResult,
    ExportStatus,
    SchemaRegistry,
    SchemaRegistryError,
    SchemaSource,
    export_schemas,
)

EXIT_INCOMPATIBLE = 1
EXIT_ERROR = 2

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

# Failures we can explain in one sentence; anything else is a bug and may show its traceback.
_EXPLAINED = (SchemaRegistryError, UnknownEventTypeError, InvalidSchemaError, OSError)


def make_schemas_app(
    *,
    catalogue: EventCatalogue = CATALOGUE,
    schema_source: SchemaSource | None = None,
    registry_dir: Path | None = None,
) -> typer.Typer:
    """The `schemas` sub-app, wired to a catalogue, a model schema source and a registry directory."""
    app = typer.Typer(
        name="schemas",
        help="Event types and their registered JSON Schemas.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    directory = PACKAGED_SCHEMA_DIR if registry_dir is None else registry_dir

    @app.command("list")
    def list_types(
        ctx: typer.Context,
        json_output: JsonOption = False,
        extra: Annotated[
            Path | None,
            typer.Option(
                "--extra", help="A directory of your own schemas, loaded after the packaged ones (default: schema_dir)."
            ),
        ] = None,
    ) -> None:
        """List every event type with its registered schema versions and the entity its data carries."""
        if extra is None:
            extra = _configured_schema_dir(ctx)
        try:
            registry = SchemaRegistry.from_directory(directory, *([extra] if extra else []))
        except _EXPLAINED as exc:
            _fail(exc)
        rows = _list_rows(catalogue, registry)
        if json_output:
            _echo_json(rows)
            return
        table = Table(title=f"{len(rows)} event types")
        table.add_column("type", no_wrap=True)
        table.add_column("versions")
        table.add_column("entity")
        for row in rows:
            versions = ", ".join(f"v{v}" for v in row["versions"]) or "[red]not registered[/red]"
            table.add_row(row["type"], versions, row["entity"] or "-")
        Console().print(table)

    @app.command("check")
    def check(json_output: JsonOption = False) -> None:
        """Check the current model's schemas against the registered ones; exit 1 if consumers would break."""
        results = _export(directory, catalogue, schema_source, write=False)
        if not _report_check(results, json_output=json_output):
            raise typer.Exit(EXIT_INCOMPATIBLE)

    @app.command("export")
    def export(
        target: Annotated[
            Path | None,
            typer.Argument(help="Schema directory to write to; the packaged registry when left out."),
        ] = None,
        json_output: JsonOption = False,
    ) -> None:
        """Write the current model's schemas as new versions where they changed compatibly (or to DIR)."""
        results = _export(directory if target is None else target, catalogue, schema_source, write=True)
        if not _report_export(results, json_output=json_output):
            raise typer.Exit(EXIT_INCOMPATIBLE)

    return app


def _export(
    directory: Path, catalogue: EventCatalogue, schema_source: SchemaSource | None, *, write: bool
) -> list[ExportResult]:
    try:
        return export_schemas(directory, catalogue=catalogue, schema_source=schema_source, write=write)
    except _EXPLAINED as exc:
        _fail(exc)


def _report_check(results: list[ExportResult], *, json_output: bool) -> bool:
    incompatible = [r for r in results if r.status is ExportStatus.INCOMPATIBLE]
    new = [r for r in results if r.status is ExportStatus.NEW]
    # Producers emit the catalogue's version; the log rejects it unless that exact version is registered.
    unregistered = [
        r.spec.type
        for r in results
        if r.status is not ExportStatus.NEW and (r.latest is None or r.spec.version > r.latest)
    ]
    ok = not incompatible and not new and not unregistered
    if json_output:
        payload = {
            "ok": ok,
            "results": [_result_json(r) for r in results],
            "unregistered_catalogue_types": unregistered,
        }
        _echo_json(payload)
        return ok
    _print_results(results, dry_run=True)
    console = Console()
    for type_ in unregistered:
        console.print(f"[red]{type_} is in the catalogue but not registered[/red]")
    if incompatible:
        console.print(
            f"[red]{len(incompatible)} event type(s) would break consumers.[/red] Make the model change "
            "compatible (new fields optional with a default, no removed fields or narrowed values), or "
            "publish the data under a new event type."
        )
    if new:
        console.print(
            f"[red]{len(new)} event type(s) have no registered schema.[/red] "
            "Run `crossdock schemas export` and commit the files."
        )
    if ok:
        console.print("[green]All event schemas are compatible with the registered versions.[/green]")
    return ok


def _report_export(results: list[ExportResult], *, json_output: bool) -> bool:
    ok = not any(r.status is ExportStatus.INCOMPATIBLE for r in results)
    if json_output:
        _echo_json({"ok": ok, "results": [_result_json(r) for r in results]})
        return ok
    _print_results(results, dry_run=False)
    console = Console()
    written = sum(1 for r in results if r.path is not None)
    console.print(f"{written} schema file(s) written.")
    for result in results:
        if result.status is ExportStatus.CHANGED and result.path is not None:
            console.print(
                f"Bump {result.spec.subject} to version {result.version} in crossdock/events/catalogue.py "
                "so that producers emit it."
            )
    if not ok:
        console.print("[red]Incompatible changes were not written; make them compatible first.[/red]")
    return ok


def _configured_schema_dir(ctx: typer.Context) -> Path | None:
    """The `schema_dir` of crossdock.yaml, when run as `crossdock schemas` (whose callback sets `--config`)."""
    if not isinstance(ctx.obj, dict) or "config" not in ctx.obj:
        return None
    from crossdock.config import ConfigError, load_settings

    try:
        return load_settings(ctx.obj["config"]).schema_dir
    except ConfigError as exc:
        _fail(exc)


def _fail(exc: BaseException) -> NoReturn:
    message = str(exc) or type(exc).__name__
    Console(stderr=True).print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_ERROR)


def _list_rows(catalogue: EventCatalogue, registry: SchemaRegistry) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {
            "type": spec.type,
            "subject": spec.subject,
            "versions": registry.versions(spec.subject),
            "entity": spec.data_entity,
            "description": spec.description,
        }
        for spec in catalogue
    ]
    # A user's own subjects (from --extra) are listed too, without a catalogue entry.
    for subject in registry.subjects():
        if catalogue.find(subject) is None:
            latest = registry.latest(subject)
            rows.append(
                {
                    "type": latest.type,
                    "subject": subject,
                    "versions": registry.versions(subject),
                    "entity": None,
                    "description": None,
                }
            )
    return rows


def _result_json(result: ExportResult) -> dict[str, Any]:
    return {
        "type": result.spec.type,
        "subject": result.spec.subject,
        "entity": result.spec.data_entity,
        "status": result.status.value,
        "registered_version": result.latest,
        "version": result.version,
        "path": str(result.path) if result.path else None,
        "problems": [{"path": p.path, "message": p.message, "direction": p.direction.value} for p in result.problems],
    }


def _status_text(result: ExportResult, *, dry_run: bool) -> str:
    if result.status is ExportStatus.UNCHANGED:
        return "[green]unchanged[/green]"
    if result.status is ExportStatus.NEW:
        return "[yellow]not registered[/yellow]" if dry_run else f"[green]v{result.version} written[/green]"
    if result.status is ExportStatus.CHANGED:
        if dry_run:
            return f"[cyan]compatible change[/cyan]: export registers v{result.version}"
        return f"[green]v{result.version} written[/green]"
    problems = "\n".join(f"- {escape(str(problem))}" for problem in result.problems)
    return f"[red]incompatible with v{result.latest}[/red]\n{problems}"


def _print_results(results: list[ExportResult], *, dry_run: bool) -> None:
    table = Table(show_lines=any(r.problems for r in results))
    table.add_column("type", no_wrap=True)
    table.add_column("registered")
    table.add_column("status")
    for result in results:
        registered = f"v{result.latest}" if result.latest else "-"
        table.add_row(result.spec.type, registered, _status_text(result, dry_run=dry_run))
    Console().print(table)


def _echo_json(payload: Any) -> None:
    typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())


schemas_app = make_schemas_app()
"""`crossdock schemas`, wired to the packaged registry and the canonical model; mount it on the main CLI."""
