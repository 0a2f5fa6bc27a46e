"""What every command shares: loading settings, running async work, and turning known failures into messages."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import orjson
import typer
from rich.console import Console

from crossdock.bootstrap import BootstrapError
from crossdock.config import ConfigError, Settings, load_settings
from crossdock.events.envelope import EnvelopeError
from crossdock.events.registry import SchemaRegistryError
from crossdock.mapping.errors import SpecError
from crossdock.ports.connector import ConnectorError
from crossdock.ports.event_log import EventLogError
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


def _describe(exc: Exception) -> str:
    return str(exc) or exc.__class__.__name__


def print_json(value: Any) -> None:
    """One JSON document on stdout, for scripts."""
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str).decode())
    sys.stdout.write("\n")
