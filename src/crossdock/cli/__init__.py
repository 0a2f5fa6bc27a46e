"""The `crossdock` command line: one Typer app, sub-apps per area, every failure a message rather than a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crossdock.cli.api_clients import api_app
from crossdock.cli.bench import bench_app
from crossdock.cli.console import console_app
from crossdock.cli.lint import lint
from crossdock.cli.log import log_app
from crossdock.cli.mdm import mdm_app
from crossdock.cli.processes import processes_app
from crossdock.cli.run import register_run_commands
from crossdock.cli.sandbox import sandbox_app
from crossdock.cli.schemas import schemas_app
from crossdock.cli.trace import trace_app

app = typer.Typer(
    name="crossdock",
    help="Crossdock keeps a distributor's ERP, CRM, warehouse, eCommerce and supplier systems in step.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="crossdock.yaml to use (default: $CROSSDOCK_CONFIG or ./crossdock.yaml)"),
    ] = None,
) -> None:
    """Crossdock: durable, governed integration for wholesale distribution."""
    ctx.obj = {"config": config}


app.add_typer(log_app, name="log")
app.add_typer(schemas_app, name="schemas")
app.add_typer(bench_app, name="bench")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(processes_app, name="processes")
app.add_typer(trace_app, name="trace")
app.add_typer(api_app, name="api")
app.add_typer(console_app, name="console")
app.add_typer(mdm_app, name="mdm")
register_run_commands(app)
app.command()(lint)
