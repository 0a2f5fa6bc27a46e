"""Settings: `crossdock.yaml` overridden by `CROSSDOCK_*` environment variables, validated into typed models.

Where the file comes from: `load_settings(path)` (the CLI's `--config`), else `CROSSDOCK_CONFIG`, else
`./crossdock.yaml` if it exists, else only defaults and the environment. Every scalar top-level key can be
overridden by `CROSSDOCK_<KEY>` (`partitions` by `CROSSDOCK_PARTITIONS`); flows, systems and ownership come
from the file only. Relative paths are relative to the working directory.

Secrets never sit in the file: a system setting that holds one is a reference, `env:NAME` or `file:/path`,
resolved only when a connector asks (`SecretRef.resolve`). A literal value under a secret-like key is refused.

Every mistake in the file is reported as `file:line: what is wrong. What to do.` (`ConfigError`). Loading
reads the file and the environment and nothing else: no connection is opened here or at import time.
"""

from __future__ import annotations

import difflib
import enum
import os
import re
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError, core_schema
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from yaml.constructor import ConstructorError

from crossdock.ports.event_log import DEFAULT_PARTITIONS

ENV_PREFIX = "CROSSDOCK_"
CONFIG_ENV_VAR = "CROSSDOCK_CONFIG"
DEFAULT_CONFIG_FILE = Path("crossdock.yaml")
DEFAULT_DATABASE_URL = "sqlite:///var/crossdock.db"
DEFAULT_SQLITE_EVENT_LOG = "var/events.db"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
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

_NAME = r"^[a-z][a-z0-9_-]*$"
Name = Annotated[str, Field(pattern=_NAME, max_length=64)]
_URL_FIELDS = ("database_url", "event_log_url", "nats_url")
_URL_PASSWORD = re.compile(r"(?<=://)([^/?#@:]*):([^/?#]+)@")

Loc = tuple[str | int, ...]


def redact_url(url: str) -> str:
    """The URL with its password, if any, replaced by `***` (for logs and reprs)."""
    return _URL_PASSWORD.sub(r"\1:***@", url, count=1)


def env_var(field_name: str) -> str:
    """The environment variable that overrides a top-level setting: `partitions` → `CROSSDOCK_PARTITIONS`."""
    return ENV_PREFIX + field_name.upper()


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with the settings: where (`file:line` or an environment variable), what, what to do."""

    location: str
    message: str
    hint: str

    def __str__(self) -> str:
        hint = self.hint[:1].upper() + self.hint[1:]
        return f"{self.location}: {self.message.rstrip('.')}. {hint}"


class ConfigError(ValueError):
    """The settings cannot be used. `str()` is `location: what is wrong. What to do.`, a line per problem."""

    def __init__(self, location: str, message: str, hint: str, *, more: tuple[ConfigProblem, ...] = ()) -> None:
        self.problems = (ConfigProblem(location, message, hint), *more)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    @property
    def location(self) -> str:
        """Where the first problem is: `path/crossdock.yaml:12`, or `CROSSDOCK_PARTITIONS (environment)`."""
        return self.problems[0].location

    @property
    def message(self) -> str:
        """What is wrong (first problem)."""
        return self.problems[0].message

    @property
    def hint(self) -> str:
        """What to do about it (first problem)."""
        return self.problems[0].hint


def _problem(kind: str, message: str, hint: str, path: Loc = ()) -> PydanticCustomError:
    """A validation error carrying its own hint and a path below the validated model (for the line number)."""
    return PydanticCustomError(kind, "{message}", {"message": message, "hint": hint, "path": path})


_ENV_REF = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")
_FILE_REF = re.compile(r"^file:(?!//)(\S.*)$")
_SECRET_WORDS = frozenset(
    {"secret", "password", "passwd", "passphrase", "pwd", "token", "credential", "credentials", "apikey"}
)
_SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("account", "key"),
        ("auth", "key"),
        ("client", "key"),
        ("encryption", "key"),
        ("private", "key"),
        ("secret", "key"),
        ("shared", "key"),
        ("signing", "key"),
        ("ssh", "key"),
    }
)
_REFERENCE_HINT = (
    "put the secret in an environment variable or a file and write a reference instead: "
    "`{key}: env:VARIABLE_NAME` or `{key}: file:/run/secrets/name`"
)


def is_secret_key(key: str) -> bool:
    """True for setting names that hold secrets (`client_secret`, `password`, `api_key`, `securityToken`).

    Judged by the last word only, so `token_url` or `password_file` are ordinary settings.
    """
    words = [w.lower() for w in re.split(r"[_\-.\s]+|(?<=[a-z0-9])(?=[A-Z])", key) if w]
    if not words:
        return False
    return words[-1] in _SECRET_WORDS or tuple(words[-2:]) in _SECRET_PAIRS


class SecretRef(str):
    """A reference to a secret kept outside the config, `env:NAME` or `file:/path`; `resolve()` reads it.

    The string itself is the reference, never the secret, so printing, logging or dumping settings shows only
    where a secret lives. Settings loaded with an explicit environment resolve `env:` references against it.
    """

    _environ: Mapping[str, str] | None

    def __new__(cls, reference: str, environ: Mapping[str, str] | None = None) -> Self:
        """Parse `env:NAME` or `file:/path`; raise ValueError for anything else."""
        if not (_ENV_REF.match(reference) or _FILE_REF.match(reference)):
            raise ValueError(f"{reference[:5]!r}… is not a secret reference; write env:NAME or file:/path")
        ref = super().__new__(cls, reference)
        ref._environ = environ
        return ref

    @classmethod
    def is_reference(cls, value: object) -> bool:
        """True when `value` is written as a secret reference."""
        return isinstance(value, str) and bool(_ENV_REF.match(value) or _FILE_REF.match(value))

    @property
    def scheme(self) -> Literal["env", "file"]:
        """Where the secret lives: an environment variable or a file."""
        return "env" if self.startswith("env:") else "file"

    @property
    def target(self) -> str:
        """The environment variable's name or the file's path."""
        return self.split(":", 1)[1]

    def resolve(self) -> SecretStr:
        """Read the secret now (a rotated file is picked up). Errors name the reference, never the value."""
        if self.scheme == "env":
            environ = os.environ if self._environ is None else self._environ
            value = environ.get(self.target)
            if value is None:
                raise ConfigError(
                    str(self),
                    f"environment variable {self.target} is not set",
                    f"export {self.target} before starting Crossdock, or point the setting elsewhere",
                )
        else:
            try:
                value = Path(self.target).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    str(self),
                    f"cannot read the secret file {self.target}: {exc.strerror or type(exc).__name__}",
                    "create the file (readable by the Crossdock user) or point the setting elsewhere",
                ) from None
            # Files written by `echo` or mounted by orchestrators end in a newline that is not the secret.
            value = value.removesuffix("\n").removesuffix("\r")
        if not value:
            raise ConfigError(str(self), "the secret is empty", f"put the secret into {self.target}")
        return SecretStr(value)

    def __repr__(self) -> str:
        return f"SecretRef({str(self)!r})"

    def __reduce__(self) -> tuple[type[SecretRef], tuple[str]]:
        # Never carry the bound environment (which holds every secret of the process) into a pickle or a copy.
        return (SecretRef, (str(self),))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        """Validate from a reference string, serialise back to it."""
        return core_schema.no_info_after_validator_function(
            _to_secret_ref,
            core_schema.str_schema(),
            serialization=core_schema.to_string_ser_schema(),
        )


def _to_secret_ref(value: str) -> SecretRef:
    if isinstance(value, SecretRef):
        return value
    if not SecretRef.is_reference(value):
        raise _problem("literal_secret", "a literal secret is not allowed here", _REFERENCE_HINT.format(key="secret"))
    return SecretRef(value, _current_environ())


def _with_secret_refs(value: Any, path: Loc) -> Any:
    """Turn reference strings into SecretRefs, and refuse a literal value under a secret-like key."""
    if isinstance(value, Mapping):
        return {key: _with_secret_refs(item, (*path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_secret_refs(item, (*path, index)) for index, item in enumerate(value)]
    if SecretRef.is_reference(value):
        return value if isinstance(value, SecretRef) else SecretRef(value, _current_environ())
    key = next((part for part in reversed(path) if isinstance(part, str)), "")
    if value is not None and is_secret_key(key):
        raise _problem(
            "literal_secret",
            f"`{key}` holds a literal secret; secrets must not be written into the config file",
            _REFERENCE_HINT.format(key=key),
            path,
        )
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetryPolicy(_Section):
    """How a failed delivery to a target is retried before it is dead-lettered."""

    # The same defaults as crossdock.sync.retry.RetryPolicy, which the flow runner builds from these.
    max_attempts: int = Field(default=8, ge=1, le=1000)
    initial_backoff_s: float = Field(default=1.0, gt=0)
    max_backoff_s: float = Field(default=300.0, gt=0)
    # Fraction of each backoff that is randomised: 0 waits exactly, 1 ("full jitter") anywhere from 0 to it.
    jitter: float = Field(default=1.0, ge=0, le=1)

    @model_validator(mode="after")
    def _backoff_grows(self) -> Self:
        if self.max_backoff_s < self.initial_backoff_s:
            raise _problem(
                "backoff_order",
                f"max_backoff_s ({self.max_backoff_s}) is below initial_backoff_s ({self.initial_backoff_s})",
                "make max_backoff_s at least initial_backoff_s",
                ("max_backoff_s",),
            )
        return self


class FlowSource(_Section):
    """Where a flow's changes come from: a system and the canonical entity captured there."""

    system: Name
    entity: Name


class FlowTarget(_Section):
    """Where a flow delivers: a system, the canonical entity written there (default: the source's), retry."""

    system: Name
    entity: Name
    retry: RetryPolicy = RetryPolicy()


Criticality = Literal["low", "medium", "high", "critical"]


class FlowConfig(_Section):
    """One flow: changes of one entity in one system, delivered to one or more targets.

    The governance fields (owners, system of record, SLA, criticality) are optional for now; the operations
    console will require them.
    """

    name: Name
    source: FlowSource
    targets: list[FlowTarget] = Field(min_length=1)
    description: str | None = None
    business_owner: str | None = None
    technical_owner: str | None = None
    system_of_record: Name | None = None
    sla: str | None = Field(default=None, description="how fresh the target must be, e.g. `15m` or `1h`")
    criticality: Criticality | None = None

    @model_validator(mode="before")
    @classmethod
    def _targets_default_to_source_entity(cls, raw: Any) -> Any:
        if not isinstance(raw, Mapping):
            return raw
        source, targets = raw.get("source"), raw.get("targets")
        if not (isinstance(source, Mapping) and isinstance(targets, list) and "entity" in source):
            return raw
        filled = [
            {"entity": source["entity"], **target} if isinstance(target, Mapping) else target for target in targets
        ]
        return {**raw, "targets": filled}


class SystemConfig(BaseModel):
    """A connected system: its connector `type` plus that connector's own settings (secrets as references).

    The connector validates its settings itself (`connectors/<type>/config.py`); here they are kept as
    written, with every `env:`/`file:` reference turned into a `SecretRef`.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    type: Name

    @model_validator(mode="before")
    @classmethod
    def _secrets_by_reference(cls, raw: Any) -> Any:
        if not isinstance(raw, Mapping):
            return raw
        return {key: value if key == "type" else _with_secret_refs(value, (key,)) for key, value in raw.items()}

    def options(self) -> dict[str, Any]:
        """The connector's settings: everything but `type`."""
        return dict(self.model_extra or {})


class EventLogBackend(enum.StrEnum):
    """Which EventLog adapter the log runs on."""

    SQLITE = "sqlite"
    POSTGRES = "postgres"
    NATS = "nats"
    MEMORY = "memory"


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


class Settings(BaseSettings):
    """Everything Crossdock is configured with. Build it with `load_settings` (`Settings(...)` in tests)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    database_url: str = DEFAULT_DATABASE_URL
    event_log: EventLogBackend = EventLogBackend.SQLITE
    # sqlite: the log's file; postgres: a PostgreSQL URL (default: database_url); nats and memory: unused.
    event_log_url: str | None = None
    nats_url: str = DEFAULT_NATS_URL
    partitions: int = Field(default=DEFAULT_PARTITIONS, ge=1, le=4096)
    schema_dir: Path | None = None
    mapping_dir: Path | None = None
    lease_ttl_s: float = Field(default=30.0, gt=0)
    systems: dict[Name, SystemConfig] = Field(default_factory=dict)
    flows: list[FlowConfig] = Field(default_factory=list)
    # entity → attribute → the system that owns it; a change from any other system is a policy violation.
    ownership: dict[Name, dict[str, Name]] = Field(default_factory=dict)

    _config_file: Path | None = PrivateAttr(default=None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then `CROSSDOCK_*` variables, then the file; no .env or secrets-dir lookups."""
        return init_settings, _EnvironmentSource(settings_cls), _FileSource(settings_cls)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if name in _URL_FIELDS and isinstance(value, str) else value

    @property
    def config_file(self) -> Path | None:
        """The file these settings were read from, if any."""
        return self._config_file

    def sqlite_log_path(self) -> Path:
        """The SQLite event log's file; ConfigError unless `event_log` is sqlite."""
        if self.event_log is not EventLogBackend.SQLITE or self.event_log_url is None:
            raise ConfigError(
                env_var("event_log"),
                f"the event log is {self.event_log.value}, not sqlite",
                "ask for the SQLite log's path only when event_log is sqlite",
            )
        return Path(self.event_log_url)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, url: str) -> str:
        return _normalise_database_url(url, "database_url")

    @field_validator("nats_url")
    @classmethod
    def _nats_url(cls, url: str) -> str:
        if not url.startswith(("nats://", "tls://")):
            raise _problem("nats_url", f"{url!r} is not a NATS URL", "write nats://host:4222")
        return url

    @model_validator(mode="after")
    def _resolve_and_cross_check(self) -> Self:
        self.event_log_url = self._event_log_location()
        self._check_references()
        return self

    def _event_log_location(self) -> str | None:
        url = self.event_log_url
        if self.event_log is EventLogBackend.SQLITE:
            return (url or DEFAULT_SQLITE_EVENT_LOG).removeprefix("sqlite:///")
        if self.event_log is EventLogBackend.POSTGRES:
            if url is None and self.database_url.startswith("sqlite:"):
                raise _problem(
                    "event_log_url",
                    "the postgres event log needs a PostgreSQL URL, but database_url is SQLite",
                    "set event_log_url (CROSSDOCK_EVENT_LOG_URL) or database_url to a postgresql:// URL",
                    ("event_log",),
                )
            if url is not None and not url.startswith(("postgresql", "postgres:")):
                raise _problem(
                    "event_log_url",
                    "the postgres event log needs a PostgreSQL URL in event_log_url",
                    "write postgresql://user@host:5432/dbname, or leave it out to use database_url",
                    ("event_log_url",),
                )
            return _normalise_database_url(url or self.database_url, "event_log_url")
        return url

    def _check_references(self) -> None:
        declared = sorted(self.systems)
        hint = (
            f"declare it under `systems:` (declared: {', '.join(declared)})"
            if declared
            else "declare it under `systems:` with its `type`"
        )

        def undeclared(system: str, path: Loc) -> PydanticCustomError:
            return _problem("unknown_system", f"system {system!r} is not declared", hint, path)

        seen: dict[str, int] = {}
        for index, flow in enumerate(self.flows):
            if flow.name in seen:
                raise _problem(
                    "duplicate_flow",
                    f"flow name {flow.name!r} is already used by flows[{seen[flow.name]}]",
                    "give every flow its own name; deliveries are journaled per flow name",
                    ("flows", index, "name"),
                )
            seen[flow.name] = index
            if flow.source.system not in self.systems:
                raise undeclared(flow.source.system, ("flows", index, "source", "system"))
            for number, target in enumerate(flow.targets):
                if target.system not in self.systems:
                    raise undeclared(target.system, ("flows", index, "targets", number, "system"))
                if (target.system, target.entity) == (flow.source.system, flow.source.entity):
                    raise _problem(
                        "flow_loop",
                        f"flow {flow.name!r} delivers {flow.source.entity} back to its own source",
                        "remove this target; a flow never writes to the system it reads from",
                        ("flows", index, "targets", number),
                    )
            if flow.system_of_record is not None and flow.system_of_record not in self.systems:
                raise undeclared(flow.system_of_record, ("flows", index, "system_of_record"))
        for entity, attributes in self.ownership.items():
            for attribute, system in attributes.items():
                if system not in self.systems:
                    raise undeclared(system, ("ownership", entity, attribute))

    def flow(self, name: str) -> FlowConfig:
        """The flow called `name`; KeyError names the flows that exist."""
        for flow in self.flows:
            if flow.name == name:
                return flow
        raise KeyError(f"no flow {name!r}; configured flows: {', '.join(f.name for f in self.flows) or 'none'}")


def _normalise_database_url(url: str, field: str) -> str:
    """`postgresql://` and `postgres://` → `postgresql+psycopg://` (the driver we ship); SQLite unchanged."""
    if url.startswith("sqlite:"):
        return url
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    raise _problem(
        "database_url",
        f"{field} {url.split('://', 1)[0]!r} URLs are not supported",
        "use sqlite:///path/to/file.db or postgresql://user@host:5432/dbname",
    )


class _DuplicateKeyError(ConstructorError):
    """A mapping names the same key twice."""


class _LineLoader(yaml.SafeLoader):
    """The safe YAML loader, refusing duplicate keys (PyYAML would silently keep the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        first_line: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # the base class reports unhashable keys
            if key in first_line:
                raise _DuplicateKeyError(
                    None,
                    None,
                    f"key {key!r} appears twice (first on line {first_line[key]})",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _index_lines(loader: _LineLoader, node: yaml.Node, path: Loc, lines: dict[Loc, int], active: set[int]) -> None:
    """Record the line of every key and list item under `node`, by its path in the loaded data."""
    if id(node) in active:  # a recursive alias
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        # After construction, merge keys (`<<: *defaults`) are flattened into node.value ahead of the
        # mapping's own keys; the last occurrence is the one that took effect, as in the loaded dict.
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            child = (*path, key if isinstance(key, str | int) else str(key))
            lines[child] = key_node.start_mark.line + 1
            _index_lines(loader, value_node, child, lines, active)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _index_lines(loader, item, (*path, index), lines, active)
    active.discard(id(node))


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[Loc, int]]:
    """The file's top-level mapping and the line of every key in it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            str(path),
            f"cannot read the config file: {exc.strerror or type(exc).__name__}",
            f"check the path given by --config or {CONFIG_ENV_VAR}; {EXAMPLE_FILE} is a starting point",
        ) from None
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        lines: dict[Loc, int] = {}
        if node is not None:
            _index_lines(loader, node, (), lines, set())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        if isinstance(exc, _DuplicateKeyError):
            hint = "remove one of them (YAML would silently keep only the last)"
        else:
            hint = "check the indentation, quoting and colons on this line and the one before"
        raise ConfigError(f"{path}:{line}", f"not valid YAML: {what}", hint) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}:1", f"not valid YAML: {exc}", "check the file's syntax") from None
    finally:
        loader.dispose()
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}:1",
            f"the file must be a mapping of settings, not a {type(data).__name__}",
            f"start from {EXAMPLE_FILE}",
        )
    return data, lines


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


__all__ = [
    "ENV_FIELDS",
    "ConfigError",
    "ConfigProblem",
    "EventLogBackend",
    "FlowConfig",
    "FlowSource",
    "FlowTarget",
    "RetryPolicy",
    "SecretRef",
    "Settings",
    "SystemConfig",
    "env_var",
    "is_secret_key",
    "load_settings",
    "redact_url",
]
