"""The composition root: reads settings, picks adapters, wires them. Nothing else in Crossdock chooses an adapter.

Tests pass their own adapters (a memory log, a sandbox connector) through the keyword arguments instead of
patching import paths.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from crossdock.config import EventLogBackend, Settings, SystemConfig
from crossdock.ports.connector import Connector
from crossdock.ports.event_log import EventLog
from crossdock.ports.store import Store
from crossdock.sync.capture import CaptureRunner
from crossdock.sync.deliver import DeliveryRunner
from crossdock.sync.flow import Flow, FlowTarget
from crossdock.sync.governance import ChangeGovernor, EchoSuppressor, GovernorChain
from crossdock.sync.mappings import Mappings, NoMappings
from crossdock.sync.ownership import OwnershipGovernor, OwnershipPolicy
from crossdock.sync.publish import Publisher, Validate
from crossdock.sync.resilience import CircuitBreaker, GuardedConnector
from crossdock.sync.retry import RetryPolicy
from crossdock.sync.worker import Worker

ConnectorFactory = Callable[[str, SystemConfig], Connector]


class BootstrapError(RuntimeError):
    """The settings name something Crossdock cannot build; the message says what to change."""


def _recording(name: str, system: SystemConfig) -> Connector:
    from crossdock.connectors.recording.config import RecordingSettings
    from crossdock.connectors.recording.connector import RecordingConnector

    return RecordingConnector(name, RecordingSettings.model_validate(system.options()))


def _tryton(name: str, system: SystemConfig) -> Connector:
    from crossdock.connectors.tryton.connector import from_settings

    return from_settings(name, system.options())


def _salesforce(name: str, system: SystemConfig) -> Connector:
    from crossdock.connectors.salesforce.connector import from_settings

    return from_settings(name, system.options())


# One line per system type; a new connector package adds its factory here.
CONNECTOR_TYPES: dict[str, ConnectorFactory] = {
    "recording": _recording,
    "tryton": _tryton,
    "salesforce": _salesforce,
}


def capture_verbs(entity: str) -> tuple[str, str]:
    """The event verbs a capture uses for a first sighting and a change: `created`/`updated` where the catalogue
    has both, else `updated` for both (a price list or an inventory position is only ever updated)."""
    from crossdock.events.catalogue import CATALOGUE

    created = CATALOGUE.find(f"crossdock.{entity}.created.v1")
    return ("created" if created is not None else "updated", "updated")


def default_consumer_id() -> str:
    """A consumer id unique to this process: host and pid, so a restarted worker is a new consumer."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class Runtime:
    """Everything a running Crossdock needs, wired; close it when done."""

    settings: Settings
    store: Store
    log: EventLog
    publisher: Publisher
    connectors: dict[str, Connector]
    mappings: Mappings
    flows: list[Flow] = field(default_factory=list)

    def worker(self, consumer: str | None = None, *, poll_interval_s: float = 1.0) -> Worker:
        """A worker running every configured flow's capture and delivery loops."""
        consumer = consumer or default_consumer_id()
        captures: list[CaptureRunner] = []
        deliveries: list[DeliveryRunner] = []
        for flow in self.flows:
            source = self.connectors.get(flow.source_system)
            if source is not None:
                verbs = capture_verbs(flow.entity)
                governor = self.governor()
                captures.append(
                    CaptureRunner(flow, source, self.store, self.publisher, self.mappings, governor, verbs=verbs)
                )
            deliveries.extend(
                DeliveryRunner(
                    flow, target, self.connector(target.system), self.store, self.log, self.mappings, consumer=consumer
                )
                for target in flow.targets
            )
        return Worker(captures, deliveries, poll_interval_s=poll_interval_s)

    def governor(self) -> ChangeGovernor:
        """What every captured change passes before it is logged: echo suppression, then attribute ownership."""
        policy = OwnershipPolicy(self.settings.ownership)
        return GovernorChain([EchoSuppressor(), OwnershipGovernor(policy)])

    def unguarded(self, system: str) -> Connector:
        """The connector itself, behind its circuit breaker: for tools and tests that use a client directly."""
        connector = self.connector(system)
        return connector.inner if isinstance(connector, GuardedConnector) else connector

    def connector(self, system: str) -> Connector:
        """The connector of a configured system."""
        try:
            return self.connectors[system]
        except KeyError:
            known = ", ".join(sorted(self.connectors)) or "none"
            raise BootstrapError(f"no system named {system!r} is configured (configured: {known})") from None

    async def close(self) -> None:
        """Close connectors, the log and the store."""
        for connector in self.connectors.values():
            await connector.close()
        await self.log.close()
        self.store.dispose()


def flows_from_settings(settings: Settings) -> list[Flow]:
    """The configured flows, as the core's Flow objects."""
    flows: list[Flow] = []
    for flow in settings.flows:
        targets = tuple(
            FlowTarget(
                target.system,
                target.entity,
                RetryPolicy(
                    max_attempts=target.retry.max_attempts,
                    initial_backoff_s=target.retry.initial_backoff_s,
                    max_backoff_s=target.retry.max_backoff_s,
                    jitter=target.retry.jitter,
                ),
            )
            for target in flow.targets
        )
        flows.append(Flow(flow.name, flow.source.system, flow.source.entity, targets))
    return flows


def open_store(settings: Settings) -> Store:
    """The relational store, migrated to the newest schema."""
    from crossdock.store.sql import SqlStore

    store = SqlStore(settings.database_url)
    store.migrate()
    return store


async def open_log(settings: Settings) -> EventLog:
    """The configured EventLog adapter, connected."""
    backend = settings.event_log
    if backend is EventLogBackend.MEMORY:
        from crossdock.log.memory import MemoryEventLog

        return MemoryEventLog(partitions=settings.partitions, lease_ttl_s=settings.lease_ttl_s)
    if backend is EventLogBackend.SQLITE:
        from crossdock.log.sqlite import SqliteEventLog

        sqlite_log = SqliteEventLog(
            Path(settings.sqlite_log_path()), partitions=settings.partitions, lease_ttl_s=settings.lease_ttl_s
        )
        await sqlite_log.open()
        return sqlite_log
    if backend is EventLogBackend.POSTGRES:
        from crossdock.log.postgres import PostgresEventLog

        pg_log = PostgresEventLog(
            settings.event_log_url or settings.database_url,
            partitions=settings.partitions,
            lease_ttl_s=settings.lease_ttl_s,
        )
        await pg_log.open()
        return pg_log
    from crossdock.log.nats import NatsEventLog

    nats_log = NatsEventLog(settings.nats_url, partitions=settings.partitions, lease_ttl_s=settings.lease_ttl_s)
    await nats_log.connect()
    return nats_log


def open_connectors(settings: Settings, types: Mapping[str, ConnectorFactory] | None = None) -> dict[str, Connector]:
    """A connector per configured system."""
    factories = types or CONNECTOR_TYPES
    connectors: dict[str, Connector] = {}
    for name, system in settings.systems.items():
        factory = factories.get(system.type)
        if factory is None:
            known = ", ".join(sorted(factories))
            raise BootstrapError(
                f"system {name!r} has type {system.type!r}, which Crossdock does not know; use one of: {known}"
            )
        # Every system sits behind its own circuit breaker: one system's outage never stalls the others.
        connectors[name] = GuardedConnector(factory(name, system), CircuitBreaker(name))
    return connectors


def schema_validator(settings: Settings) -> Validate:
    """Validation of event data against the registered schemas (packaged, plus the configured directory)."""
    from crossdock.events.registry import SchemaRegistry

    registry = SchemaRegistry.default()
    if settings.schema_dir is not None:
        registry.load_directory(settings.schema_dir)
    return registry.validate


def connector_mapping_dir(system_type: str) -> Path:
    """Where a connector package keeps its own mapping specs (`connectors/<type>/mapping/`)."""
    import crossdock.connectors

    return Path(crossdock.connectors.__file__).parent / system_type / "mapping"


def mappings_from_settings(settings: Settings) -> Mappings:
    """Each connector's own specs under its configured system name; the user's `mapping_dir` replaces any of them."""
    from crossdock.mapping.catalog import MappingCatalog
    from crossdock.mapping.compiler import CompiledMapping
    from crossdock.mapping.flows import CatalogMappings

    user = MappingCatalog.from_directory(settings.mapping_dir) if settings.mapping_dir else MappingCatalog()
    packaged: list[CompiledMapping] = []
    for name, system in settings.systems.items():
        folder = connector_mapping_dir(system.type)
        if folder.is_dir():
            packaged.extend(m for m in MappingCatalog.from_directory(folder, system=name) if m.key not in user)
    if not packaged and not user.keys():
        return NoMappings()
    return CatalogMappings(MappingCatalog.combine(MappingCatalog(packaged), user))


async def bootstrap(
    settings: Settings,
    *,
    store: Store | None = None,
    log: EventLog | None = None,
    connectors: dict[str, Connector] | None = None,
    mappings: Mappings | None = None,
    validate: Validate | None = None,
) -> Runtime:
    """Wire a Runtime from settings; every keyword replaces the adapter the settings would pick."""
    store = store or open_store(settings)
    log = log or await open_log(settings)
    return Runtime(
        settings=settings,
        store=store,
        log=log,
        publisher=Publisher(log, validate if validate is not None else schema_validator(settings)),
        connectors=connectors if connectors is not None else open_connectors(settings),
        mappings=mappings or mappings_from_settings(settings),
        flows=flows_from_settings(settings),
    )
