"""`Settings`, the top-level model: scalar settings and their defaults, the sections, and the checks across them
(where the event log lives, flows and ownership naming declared systems). URLs are normalised, shown without
passwords."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Self

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from crossdock.config.errors import ConfigError, Loc, _problem
from crossdock.config.sections import (
    ApiConfig,
    EventLogBackend,
    FlowConfig,
    MdmConfig,
    Name,
    ObservabilityConfig,
    OrdersConfig,
    PartnerConfig,
    SystemConfig,
)
from crossdock.config.sources import ENV_PREFIX, _EnvironmentSource, _FileSource, env_var
from crossdock.ports.event_log import DEFAULT_PARTITIONS

DEFAULT_DATABASE_URL = "sqlite:///var/crossdock.db"
DEFAULT_SQLITE_EVENT_LOG = "var/events.db"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
_URL_FIELDS = ("database_url", "event_log_url", "nats_url")
_URL_PASSWORD = re.compile(r"(?<=://)([^/?#@:]*):([^/?#]+)@")


def redact_url(url: str) -> str:
    """The URL with its password, if any, replaced by `***` (for logs and reprs)."""
    return _URL_PASSWORD.sub(r"\1:***@", url, count=1)


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
    orders: OrdersConfig | None = None
    api: ApiConfig = Field(default_factory=ApiConfig)
    # Trading partners by name: EDI over SFTP today.
    partners: dict[Name, PartnerConfig] = Field(default_factory=dict)
    # Traces (kept for the console, OTLP when configured), metrics and log format.
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
    # Master data for customers (duplicate gate, survivorship, merges); without it, no capture is held.
    mdm: MdmConfig | None = None

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
            record = flow.governance.system_of_record
            if record is not None and record not in self.systems:
                raise undeclared(record, ("flows", index, "governance", "system_of_record"))
        for entity, attributes in self.ownership.items():
            for attribute, system in attributes.items():
                if system not in self.systems:
                    raise undeclared(system, ("ownership", entity, attribute))
        self._check_order_systems(undeclared)

    def _check_order_systems(self, undeclared: Callable[[str, Loc], PydanticCustomError]) -> None:
        if self.orders is None:
            return
        if self.orders.erp not in self.systems:
            raise undeclared(self.orders.erp, ("orders", "erp"))
        if self.orders.crm is not None and self.orders.crm not in self.systems:
            raise undeclared(self.orders.crm, ("orders", "crm"))

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
