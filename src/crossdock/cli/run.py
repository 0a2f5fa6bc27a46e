"""Running Crossdock: `serve`, `worker`, `demo` and `status`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.table import Table

from crossdock.bootstrap import Runtime, bootstrap, configure_logging
from crossdock.cli.common import console, print_json, run_async, settings_from, tune_gc_for_serving
from crossdock.config import Settings, load_settings
from crossdock.ports.store import ExceptionStatus

PollInterval = Annotated[float, typer.Option(help="seconds between capture polls")]
JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]


def _log_to_stderr(settings: Settings) -> None:
    # JSON or text as `observability:` says, secrets redacted, quiet httpx (one line per ERP or CRM request).
    configure_logging(settings)


class _ApiServer(uvicorn.Server):
    """uvicorn, leaving SIGTERM and SIGINT to `serve`, which stops the API and the worker together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _run_worker(
    runtime: Runtime, consumer: str | None, poll_interval_s: float, *, api: bool = False, webhooks: bool = False
) -> None:
    worker = runtime.worker(consumer, poll_interval_s=poll_interval_s, webhooks=api or webhooks)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(worker.run())
    server = None
    if api:
        from crossdock.api.app import create_app
        from crossdock.cli.intake_process import start_order_intake

        config = runtime.settings.api
        context = runtime.api_context(order_intake=start_order_intake(runtime))
        app = create_app(context)
        with_console = _attach_console(app, runtime)
        tune_gc_for_serving()
        server = _ApiServer(uvicorn.Config(app, host=config.host, port=config.port, log_level="warning"))
        serving = asyncio.create_task(server.serve())
        console.print(
            f"API on http://{config.host}:{config.port}/v1 (OpenAPI at /openapi.json, events at /asyncapi.json)"
        )
        if with_console:
            console.print(f"Console on {console_url(config.host, config.port)}")
    await stop.wait()
    worker.stop()
    if server is not None:
        server.should_exit = True
        await serving
        context.close()  # the order writer, and the intake process when there is one
    await task


def console_url(host: str, port: int) -> str:
    """Where `serve` puts the operations console."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - naming the wildcard, not binding it
    return f"http://{shown}:{port}/console/"


def _attach_console(app: Any, runtime: Runtime) -> bool:
    """Mount the operations console at /console; False (and a warning) without the `console` extra."""
    try:
        from crossdock.console.app import attach, create_console_app
    except ImportError as missing:
        console.print(f"[yellow]No console: {missing}. Install crossdock[console] to serve it.[/]")
        return False
    attach(app, create_console_app(runtime.console_context()))
    return True


def _serve_until_stopped(
    settings: Settings,
    consumer: str | None,
    poll_interval_s: float,
    banner: bool,
    *,
    api: bool = False,
    webhooks: bool = False,
) -> None:
    async def work() -> None:
        runtime = await bootstrap(settings)
        if banner:
            console.print(
                f"Crossdock: {len(runtime.flows)} flow(s) on the {settings.event_log.value} log. Ctrl-C stops."
            )
        try:
            await _run_worker(runtime, consumer, poll_interval_s, api=api, webhooks=webhooks)
        finally:
            await runtime.close()

    if api:
        _use_uvloop()
    run_async(work)


def _use_uvloop() -> None:
    # uvloop (from uvicorn[standard]), when installed: the API answers about a third more requests on it.
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def worker(
    ctx: typer.Context,
    consumer: Annotated[str | None, typer.Option(help="consumer id (default: host-pid)")] = None,
    poll_interval: PollInterval = 1.0,
    webhooks: Annotated[
        bool, typer.Option(help="also deliver partners' webhooks (safe on any number of workers)")
    ] = False,
) -> None:
    """Run every configured flow's capture and delivery loops until SIGTERM or Ctrl-C."""
    settings = settings_from(ctx)
    _log_to_stderr(settings)
    _serve_until_stopped(settings, consumer, poll_interval, banner=False, webhooks=webhooks)


def serve(ctx: typer.Context, poll_interval: PollInterval = 1.0) -> None:
    """Run Crossdock in one process: the API (`api:` in crossdock.yaml says where) with the operations console at
    /console, the flows, the processes and the partners' webhook deliveries."""
    settings = settings_from(ctx)
    _log_to_stderr(settings)
    _serve_until_stopped(settings, None, poll_interval, banner=True, api=True)


def demo(
    until_done: Annotated[
        bool, typer.Option("--until-done", help="play the scenario, print the summary, exit")
    ] = False,
    as_json: JsonFlag = False,
    workdir: Annotated[Path, typer.Option(help="where the demo keeps its systems and log")] = Path("var/demo"),
) -> None:
    """Play a distributor's day between a real Tryton ERP and the Salesforce sandbox, and check both systems."""
    from crossdock.demo.scenario import play

    say = (lambda _: None) if as_json else (lambda line: console.print(f"[green]•[/] {line}"))
    summary, landscape = run_async(lambda: play(workdir, say, keep_running=not until_done))
    if as_json:
        print_json(summary)
    else:
        _show_summary(summary)
    if until_done:
        raise typer.Exit(0 if summary["lost"] == 0 and summary["duplicated"] == 0 else 1)
    config = landscape.config_path
    settings = load_settings(config)
    console.print(
        f"\nCrossdock keeps Tryton ({landscape.tryton.url}) and the Salesforce sandbox "
        f"({landscape.salesforce.url}) in step now. In another shell: `crossdock --config {config} status`, "
        f"or change an account in the sandbox and watch it reach Tryton. Ctrl-C stops everything."
    )
    _show_console_logins(settings)
    try:
        _serve_until_stopped(settings, None, 1.0, banner=False, api=True)
    finally:
        landscape.stop()


def _show_console_logins(settings: Settings) -> None:
    """Make the demo's console users and say where to sign in: the last thing `make demo` prints."""
    from crossdock.bootstrap import open_store
    from crossdock.demo.console import create_demo_logins

    store = open_store(settings)
    try:
        logins = create_demo_logins(store)
    finally:
        store.dispose()
    url = console_url(settings.api.host, settings.api.port)
    console.print(f"\n[bold]The day is in the console: {url}[/]")
    for login in logins:
        console.print(
            f"  sign in as [bold]{login.username}[/] / [bold]{login.password}[/]  ({login.roles})", highlight=False
        )
    console.print("  (the approver approves replays of sensitive flows that the operator asked for)")


def _show_summary(summary: dict[str, Any]) -> None:
    table = Table("figure", "value", title="Demo summary")
    for flow, count in summary["records_synced"].items():
        table.add_row(f"synced by {flow}", str(count))
    for figure in ("writes_after_sync", "lost", "duplicated"):
        table.add_row(figure.replace("_", " "), str(summary[figure]))
    for exception in summary["exceptions"]:
        table.add_row(f"exception: {exception['class']}", exception["reason"][:110])
    console.print(table)


def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Flows, their lag per target, dead letters and open exceptions by class."""
    settings = settings_from(ctx)

    async def work() -> dict[str, Any]:
        runtime = await bootstrap(settings, validate=lambda event: None)
        try:
            flows = []
            for flow in runtime.flows:
                for target in flow.targets:
                    group = flow.group(target)
                    flows.append(
                        {
                            "flow": flow.name,
                            "source": flow.source_system,
                            "target": target.system,
                            "entity": flow.entity,
                            "lag": sum((await runtime.log.lag(group)).values()),
                            "dead_letters": len(await runtime.log.dead_letters(group, limit=10_000)),
                        }
                    )
            with runtime.store.unit_of_work(read_only=True) as uow:
                by_class = uow.exceptions.count_by_class()
                open_count = len(uow.exceptions.list(status=ExceptionStatus.OPEN, limit=100_000))
            return {"flows": flows, "exceptions_open": open_count, "exceptions_by_class": by_class}
        finally:
            await runtime.close()

    report = run_async(work)
    if as_json:
        print_json(report)
        return
    table = Table("flow", "source", "target", "entity", "lag", "dead letters", title="Flows")
    for row in report["flows"]:
        table.add_row(*(str(row[key]) for key in ("flow", "source", "target", "entity", "lag", "dead_letters")))
    console.print(table)
    console.print(f"Open exceptions: {report['exceptions_open']}  by class: {report['exceptions_by_class']}")


def register_run_commands(app: typer.Typer) -> None:
    """Add serve, worker, demo and status to the main app."""
    for command in (serve, worker, demo, status):
        app.command()(command)
