"""TrytonConnector: the Connector port over Tryton's JSON-RPC, one resource per canonical entity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from crossdock.config import ConfigError
from crossdock.connectors.tryton.capture import Cursor, end_cursor, scan
from crossdock.connectors.tryton.client import TrytonClient
from crossdock.connectors.tryton.config import TrytonSettings
from crossdock.connectors.tryton.duplicates import restore_party, retire_party
from crossdock.connectors.tryton.orders import TrytonOrderDesk
from crossdock.connectors.tryton.resources import RESOURCES, Context, Resource
from crossdock.connectors.tryton.resources.references import References
from crossdock.mapping.catalog import MappingCatalog
from crossdock.ports.connector import (
    ChangeBatch,
    ConnectorError,
    ErrorKind,
    SourceRecord,
    UpsertRequest,
    UpsertResult,
)
from crossdock.ports.egress import EgressPolicy, EgressRefusedError
from crossdock.ports.mdm import DuplicateRetirement

MAPPING_DIR = Path(__file__).parent / "mapping"
_READ_CHUNK = 200  # root records read per round trip, so a large page does not become one huge request


def mapping_catalog(system: str) -> MappingCatalog:
    """The packaged Tryton ↔ canonical mappings, under the configured system name."""
    return MappingCatalog.from_directory(MAPPING_DIR, system=system)


class TrytonConnector:
    """A Tryton ERP: customers and items read by change cursor and upserted by canonical id; list prices read."""

    def __init__(
        self, system: str, settings: TrytonSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._system = system
        self._settings = settings
        self._client = TrytonClient(settings, system=system, transport=transport)
        self._context = Context(self._client, settings, References(self._client, system), system)
        self._resources: dict[str, Resource] = {name: make() for name, make in RESOURCES.items()}

    @property
    def system(self) -> str:
        """The configured system name."""
        return self._system

    @property
    def client(self) -> TrytonClient:
        """The JSON-RPC client, for operations beyond the port (and for tests)."""
        return self._client

    def order_desk(self) -> TrytonOrderDesk:
        """The OrderDesk port on this Tryton, sharing this connector's session; keep it (it caches reference data)."""
        return TrytonOrderDesk(self._system, self._client)

    @property
    def entities(self) -> list[str]:
        """The canonical entities this connector reads and writes."""
        return sorted(self._resources)

    async def read_changes(self, entity: str, cursor: str | None, limit: int) -> ChangeBatch:
        """Records of `entity` changed since `cursor`, oldest change first; the cursor comes from Tryton's data."""
        resource = self._resource(entity)
        try:
            position = Cursor.parse(cursor)
        except ValueError as exc:
            raise ConnectorError(ErrorKind.CONFIGURATION, f"{self._system}: {entity} cursor {exc}") from None
        overlap = timedelta(seconds=self._settings.overlap_s)
        found = await scan(self._client, resource.streams, position, max(limit, 1), overlap)
        views = []
        for start in range(0, len(found.roots), _READ_CHUNK):
            views.extend(await resource.read(self._context, found.roots[start : start + _READ_CHUNK]))
        views.sort(key=lambda view: (view.changed_at, view.local_id))
        # A record carrying the canonical id Crossdock wrote keeps it, even when read before its cross-reference.
        records = [
            SourceRecord(
                local_id=str(view.local_id),
                payload=view.payload,
                changed_at=view.changed_at.isoformat(),
                canonical_id=view.canonical_id,
            )
            for view in views
        ]
        return ChangeBatch(records=records, next_cursor=found.cursor.dump(), more=found.more)

    async def cursor_at_end(self, entity: str) -> str:
        """A cursor that skips every existing record: capture only what changes from now on (after a bulk load)."""
        resource = self._resource(entity)
        return (await end_cursor(self._client, resource.streams, timedelta(seconds=self._settings.overlap_s))).dump()

    async def upsert(self, entity: str, requests: Sequence[UpsertRequest]) -> list[UpsertResult]:
        """Write each record in order; a refused record fails alone, an outage fails it and those after it."""
        resource = self._resource(entity)
        results: list[UpsertResult] = []
        for index, request in enumerate(requests):
            try:
                results.append(await resource.upsert(self._context, request))
            except (ValueError, TypeError, ArithmeticError) as exc:
                # A payload the outbound mapping should not have produced (a price that is not a number): this
                # record is quarantined with the reason, the batch goes on.
                error = ConnectorError(
                    ErrorKind.DATA_QUALITY, f"{self._system}: cannot write {entity} {request.canonical_id}: {exc}"
                )
                results.append(UpsertResult(request.canonical_id, local_id=request.local_id, error=error))
            except ConnectorError as exc:
                if exc.kind is ErrorKind.DATA_QUALITY:
                    results.append(UpsertResult(request.canonical_id, local_id=request.local_id, error=exc))
                    continue
                # Tryton is unreachable or misconfigured: the rest would fail the same way, so they are not sent.
                results.extend(UpsertResult(r.canonical_id, local_id=r.local_id, error=exc) for r in requests[index:])
                break
        return results

    async def retire_duplicate(self, retirement: DuplicateRetirement) -> str:
        """A merge carried here: the losing party made inactive, with a note naming its replacement."""
        return await retire_party(self._client, retirement)

    async def restore_duplicate(self, entity: str, local_id: str, note: str) -> str:
        """An unmerge carried here: the party active again."""
        return await restore_party(self._client, local_id, note)

    async def close(self) -> None:
        """Log out and close connections."""
        await self._client.close()

    def _resource(self, entity: str) -> Resource:
        resource = self._resources.get(entity)
        if resource is None:
            raise ConnectorError(
                ErrorKind.CONFIGURATION,
                f"{self._system}: the Tryton connector has no entity {entity!r}; it knows {', '.join(self.entities)}",
            )
        return resource


def from_settings(name: str, options: Mapping[str, Any]) -> TrytonConnector:
    """A TrytonConnector for system `name` from its crossdock.yaml options (`type` is ignored if present)."""
    try:
        settings = TrytonSettings.model_validate({k: v for k, v in options.items() if k != "type"})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(
            f"systems.{name}",
            f"the Tryton settings are invalid ({problems})",
            "give url, database, username and password (as env:NAME or file:/path)",
        ) from None
    policy = EgressPolicy(settings.allow_private_network, settings.allowed_hosts)
    try:
        policy.check(settings.url, owner=f"systems.{name}.url")
    except EgressRefusedError as exc:
        raise ConfigError(f"systems.{name}", str(exc), "or point it at the public address") from None
    return TrytonConnector(name, settings)
