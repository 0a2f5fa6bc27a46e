"""What every command shares: loading settings, running async work, and turning known failures into messages."""

from __future__ import annotations

import asyncio
import gc
import getpass
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from crossdock.bootstrap import BootstrapError, open_store
from crossdock.config import ConfigError, Settings, load_settings
from crossdock.events.envelope import EnvelopeError
from crossdock.events.registry import SchemaRegistryError
from crossdock.mapping.errors import SpecError
from crossdock.ports.connector import ConnectorError
from crossdock.ports.event_log import EventLogError
from crossdock.ports.store import Store
from crossdock.sync.publish import EventRefusedError

T = TypeVar("T")
console = Console()
errors = Console(stderr=True, soft_wrap=True)  # a path in an error must survive copy-paste and grep

# Failures a user can fix from the message alone; anything else is a bug and keeps its traceback.
USER_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    BootstrapError,
    EnvelopeError,
    SchemaRegistryError,
    EventRefusedError,
    SpecError,
    ConnectorError,
    EventLogError,
    OSError,
)


def settings_from(ctx: typer.Context) -> Settings:
    """Settings from the `--config` given to `crossdock`, the environment and the default file."""
    path: Path | None = (ctx.obj or {}).get("config") if ctx.obj else None
    try:
        return load_settings(path)
    except ConfigError as exc:
        fail(str(exc))


@contextmanager
def opened_store(settings: Settings) -> Iterator[Store]:
    """The configured store, disposed of afterwards; a store that cannot be opened is a message, not a traceback."""
    try:
        store = open_store(settings)
    except BootstrapError as error:
        fail(str(error))
    try:
        yield store
    finally:
        store.dispose()


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error that says what to do, and exit."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def run_async(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine; user-fixable errors become one clear line on stderr."""
    try:
        return asyncio.run(work())
    except USER_ERRORS as exc:
        fail(_describe(exc))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def tune_gc_for_serving() -> None:
    """For a process about to answer requests: keep the heap built at start-up out of garbage collection, and
    collect young objects less often.

    Why: every full collection walked the start-up heap (FastAPI, pydantic, SQLAlchemy and OpenTelemetry objects,
    none of which will ever be garbage), and each request makes enough short-lived objects to set collections
    off. Measured under `crossdock bench api`: the API process spent 510 µs of CPU on an order with the default
    thresholds and 346 µs with these; the intake process unpickled a batch three times faster. Cycles made while
    serving are still collected, only less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _describe(exc: Exception) -> str:
    return str(exc) or exc.__class__.__name__


def print_json(value: Any) -> None:
    """One JSON document on stdout, for scripts."""
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str).decode())
    sys.stdout.write("\n")


def progress_bar(quiet: bool, *, elapsed: bool = False) -> Progress:
    """A progress bar on stderr, or none when the output is JSON for a script. It shows the time left, or with
    `elapsed` the time taken so far (for work whose totals are not known up front)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn() if elapsed else TimeRemainingColumn(),
        console=errors,
        disable=quiet,
        transient=True,
    )


def actor_or_user(actor: str | None) -> str:
    """Who acts, for the audit trail: the name given, else the user's login name, else "operator"."""
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"
