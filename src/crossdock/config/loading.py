"""`load_settings`: find the file, read it and the environment, build `Settings`, and turn validation errors into
problems located at a file line or an environment variable, each with a hint."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from crossdock.config.errors import ConfigError, ConfigProblem, Loc
from crossdock.config.sections import FlowConfig, FlowSource, FlowTarget, RetryPolicy
from crossdock.config.settings import _URL_FIELDS, _URL_PASSWORD, Settings
from crossdock.config.sources import (
    CONFIG_ENV_VAR,
    DEFAULT_CONFIG_FILE,
    EXAMPLE_FILE,
    _environment_values,
    _LoadContext,
    _loading,
    env_var,
)
from crossdock.config.yaml_lines import _read_yaml


def _all_field_names() -> set[str]:
    models: tuple[type[BaseModel], ...] = (Settings, FlowConfig, FlowSource, FlowTarget, RetryPolicy)
    return {name for model in models for name in model.model_fields}


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_HINTS = {
    "enum": "use one of the values listed",
    "literal_error": "use one of the values listed",
    "string_pattern_mismatch": "names are lower case letters, digits, `-` and `_`, starting with a letter",
    "int_parsing": "write a whole number",
    "int_from_float": "write a whole number",
    "float_parsing": "write a number",
    "dict_type": f"this must be a mapping of keys; see {EXAMPLE_FILE}",
    "model_type": f"this must be a mapping of keys; see {EXAMPLE_FILE}",
    "model_attributes_type": f"this must be a mapping of keys; see {EXAMPLE_FILE}",
    "list_type": f"this must be a list (items starting with `- `); see {EXAMPLE_FILE}",
}


def _hint_for(error: Mapping[str, Any], loc: Loc) -> str:
    kind = error["type"]
    if kind == "missing" and loc:
        return f"add `{loc[-1]}:` here"
    if kind == "extra_forbidden" and loc:
        close = difflib.get_close_matches(str(loc[-1]), sorted(_all_field_names()), n=1)
        return f"did you mean `{close[0]}`? Otherwise remove it" if close else f"remove it; see {EXAMPLE_FILE}"
    return _HINTS.get(kind, f"fix the value; {EXAMPLE_FILE} explains each setting")


@dataclass(frozen=True, slots=True)
class _Origin:
    """Where loaded values came from, to point an error at a file line or an environment variable."""

    file: Path | None
    lines: Mapping[Loc, int]
    from_env: frozenset[str]

    def locate(self, loc: Loc) -> str:
        if loc and loc[0] in self.from_env:
            return f"{env_var(str(loc[0]))} (environment)"
        if self.file is None:
            return "settings"
        for end in range(len(loc), 0, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return f"{self.file}:{line}"
        return f"{self.file}:1"

    def problems(self, exc: ValidationError) -> list[ConfigProblem]:
        found = []
        for error in exc.errors(include_url=False):
            context = error.get("ctx") or {}
            loc: Loc = tuple(part for part in error["loc"] if part != "[key]") + tuple(context.get("path", ()))
            hint = context.get("hint") or _hint_for(error, loc)
            if loc and loc[0] in self.from_env:
                hint = f"fix or unset {env_var(str(loc[0]))}"
            message = f"{_dotted(loc)}: {error['msg']}" if loc else str(error["msg"])
            found.append(ConfigProblem(self.locate(loc), message, hint))
        return found


def _refuse_passwords_in_urls(
    config_file: Path | None, file_values: Mapping[str, Any], lines: Mapping[Loc, int]
) -> None:
    for name in _URL_FIELDS:
        url = file_values.get(name)
        if isinstance(url, str) and _URL_PASSWORD.search(url):
            raise ConfigError(
                f"{config_file}:{lines.get((name,), 1)}",
                f"{name} contains a password; secrets must not be written into the config file",
                f"set {env_var(name)} in the environment instead, or use a password file (PGPASSFILE)",
            )


def _config_path(path: Path | None, environ: Mapping[str, str]) -> Path | None:
    if path is not None:
        return Path(path)
    if environ.get(CONFIG_ENV_VAR):
        return Path(environ[CONFIG_ENV_VAR])
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the config file (`path`, else `CROSSDOCK_CONFIG`, else `./crossdock.yaml` if present) and apply
    `CROSSDOCK_*` overrides from `env` (default: the process environment).

    Raise ConfigError saying where each problem is and how to fix it.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    config_file = _config_path(path, environ)
    file_values, lines = _read_yaml(config_file) if config_file is not None else ({}, {})
    origin = _Origin(config_file, lines, frozenset(_environment_values(environ)))
    _refuse_passwords_in_urls(config_file, file_values, lines)
    try:
        with _loading(_LoadContext(environ, file_values)):
            settings = Settings()
    except ValidationError as exc:
        first, *more = origin.problems(exc)
        raise ConfigError(first.location, first.message, first.hint, more=tuple(more)) from None
    settings._config_file = config_file
    return settings
