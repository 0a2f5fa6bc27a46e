"""Where settings come from: the config file's location, the `CROSSDOCK_*` environment variables, and the
pydantic-settings sources that hand both to `Settings` while `load_settings` builds it."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

ENV_PREFIX = "CROSSDOCK_"
CONFIG_ENV_VAR = "CROSSDOCK_CONFIG"
DEFAULT_CONFIG_FILE = Path("crossdock.yaml")
EXAMPLE_FILE = "crossdock.example.yaml"

# The top-level settings an environment variable may override; structured sections come from the file only.
ENV_FIELDS = (
    "database_url",
    "event_log",
    "event_log_url",
    "nats_url",
    "partitions",
    "schema_dir",
    "mapping_dir",
    "lease_ttl_s",
)


def env_var(field_name: str) -> str:
    """The environment variable that overrides a top-level setting: `partitions` → `CROSSDOCK_PARTITIONS`."""
    return ENV_PREFIX + field_name.upper()


@dataclass(frozen=True, slots=True)
class _LoadContext:
    environ: Mapping[str, str]
    file_values: Mapping[str, Any]


# Set only while `load_settings` builds a Settings, so the sources and SecretRefs see its environment and file
_LOADING: ContextVar[_LoadContext | None] = ContextVar("crossdock_settings_loading", default=None)


@contextmanager
def _loading(context: _LoadContext) -> Iterator[None]:
    token = _LOADING.set(context)
    try:
        yield
    finally:
        _LOADING.reset(token)


def _current_environ() -> Mapping[str, str] | None:
    context = _LOADING.get()
    return None if context is None else context.environ


def _environment_values(environ: Mapping[str, str]) -> dict[str, str]:
    # An empty variable counts as unset: CI systems and compose files often declare variables left empty.
    return {name: value for name in ENV_FIELDS if (value := environ.get(env_var(name)))}


class _EnvironmentSource(PydanticBaseSettingsSource):
    """`CROSSDOCK_<FIELD>` variables for the top-level scalar settings."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        context = _LOADING.get()
        return _environment_values(os.environ if context is None else context.environ)


class _FileSource(PydanticBaseSettingsSource):
    """The values `load_settings` read from `crossdock.yaml`."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        context = _LOADING.get()
        return {} if context is None else dict(context.file_values)
