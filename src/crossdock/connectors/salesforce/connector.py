"""SalesforceConnector: the Connector port over one Salesforce org.

Entities: customer (Account), contact (Contact), item (Product2) are read and written; price_list is written into
price books (see `pricebook`); sales_order is read from activated Orders and won Opportunities (see
`order_capture`); any other entity named in `objects:` is read and upserted as is. Payloads are in Salesforce's REST
shape and go to and from the mapping specs in `mapping/` (`mapping_catalog`).

The connector is also the CRM's OrderStatusBoard (`orders`): order processes write the ERP's status onto the order
a sales order came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crossdock.config import ConfigError, ConfigProblem
from crossdock.connectors.salesforce.capture import PollCapture, soql_fields
from crossdock.connectors.salesforce.cdc import CdcCapture, ChangeEventSource, CometdEventSource, SandboxEventSource
from crossdock.connectors.salesforce.client import SalesforceClient, egress_policy
from crossdock.connectors.salesforce.config import SalesforceSettings
from crossdock.connectors.salesforce.duplicates import mark_merged, mark_unmerged
from crossdock.connectors.salesforce.limits import ApiUsage
from crossdock.connectors.salesforce.order_capture import ORDER, SALES_ORDER, SalesOrderCapture
from crossdock.connectors.salesforce.orders import SalesforceOrderStatusBoard
from crossdock.connectors.salesforce.pricebook import PricebookWriter
from crossdock.connectors.salesforce.writes import upsert_records
from crossdock.mapping import Direction, MappingCatalog, MappingSpec
from crossdock.mapping.paths import Step
from crossdock.ports.connector import ChangeBatch, ConnectorError, ErrorKind, UpsertRequest, UpsertResult
from crossdock.ports.egress import EgressRefusedError
from crossdock.ports.mdm import DuplicateRetirement
from crossdock.ports.orders import OrderStatusReport

MAPPING_DIR = Path(__file__).parent / "mapping"
"""The packaged mapping specs: `<entity>.<inbound|outbound>.yaml`."""


def mapping_catalog(system: str, directory: Path | None = None) -> MappingCatalog:
    """The Salesforce mapping specs compiled for a configured system name (default: the packaged specs)."""
    return MappingCatalog.from_directory(directory or MAPPING_DIR, system=system)


def read_fields(spec: MappingSpec) -> list[str]:
    """The fields an inbound spec reads (every `from:` and `when:` path, as SOQL names them), in spec order.

    `Parent.Crossdock_Id__c` is a relationship field SOQL selects as written; a path into a compound address
    (`BillingAddress.city`) selects the compound field. List mappings (`each:`) would need a subquery; no
    Salesforce spec has one.
    """
    names: list[str] = []
    for rule in spec.rules:
        if rule.each is not None:
            continue
        for path in (*rule.source, *((rule.when,) if rule.when is not None else ())):
            name = _soql_name(path.steps)
            if name and name not in names:
                names.append(name)
    return names


def _soql_name(steps: tuple[Step, ...]) -> str:
    keys: list[str] = []
    for step in steps:
        if step.kind != "key":
            break
        keys.append(step.key)
    if not keys:
        return ""
    return keys[0] if keys[0].endswith("Address") else ".".join(keys)


class SalesforceConnector:
    """One Salesforce org: capture by SystemModstamp polling or CDC, upserts by Crossdock_Id__c in collections, and
    the status of orders taken in the CRM (an OrderStatusBoard)."""

    def __init__(
        self,
        system: str,
        settings: SalesforceSettings,
        *,
        client: SalesforceClient | None = None,
        events: ChangeEventSource | None = None,
    ) -> None:
        self._system = system
        self._settings = settings
        self._client = client or SalesforceClient(system, settings)
        self._catalog = mapping_catalog(system, settings.mapping_dir)
        self._poll = PollCapture(self._client, settings.capture)
        if events is None:
            cometd = settings.capture.cdc_transport == "cometd"
            events = CometdEventSource(self._client) if cometd else SandboxEventSource(self._client)
        self._cdc = CdcCapture(self._client, events, settings.capture)
        self._sales_orders = SalesOrderCapture(self._client, self._poll, events, settings.capture)
        self._status_board = SalesforceOrderStatusBoard(self._client)
        self._pricebooks = PricebookWriter(self._client, settings.external_id_field)
        self._fields: dict[str, list[str]] = {}

    @property
    def system(self) -> str:
        """The configured system name."""
        return self._system

    @property
    def client(self) -> SalesforceClient:
        """The REST client (for operations the port does not cover, and for tests)."""
        return self._client

    @property
    def catalog(self) -> MappingCatalog:
        """The mapping specs this connector's payloads follow."""
        return self._catalog

    @property
    def api_usage(self) -> ApiUsage:
        """The org's 24-hour API usage as last reported, Crossdock's calls and its budget."""
        return self._client.usage

    async def read_changes(self, entity: str, cursor: str | None, limit: int) -> ChangeBatch:
        """Records of `entity` changed since `cursor`, oldest first (by polling or CDC, as configured)."""
        fields = self.fields_for(entity)
        try:
            if entity == SALES_ORDER:
                batch = await self._sales_orders.read(fields, cursor, limit)
            elif self._settings.capture.mode == "cdc":
                batch = await self._cdc.read(self._sobject(entity), fields, cursor, limit)
            else:
                batch = await self._poll.read(self._sobject(entity), fields, cursor, limit)
        except ValueError as exc:  # an unreadable cursor
            raise ConnectorError(ErrorKind.CONFIGURATION, f"{self._system}: {exc}") from None
        self._unassign_integration_owner(batch)
        return self._with_canonical_ids(batch)

    def _with_canonical_ids(self, batch: ChangeBatch) -> ChangeBatch:
        """Hand over the canonical id a record carries in its external-id field (Crossdock stamped or wrote it)."""
        field = self._settings.external_id_field
        records = [
            replace(record, canonical_id=str(record.payload[field])) if record.payload.get(field) else record
            for record in batch.records
        ]
        return replace(batch, records=records)

    def _unassign_integration_owner(self, batch: ChangeBatch) -> None:
        """A record owned by the integration user has no sales rep: Salesforce made Crossdock its owner when
        Crossdock created it. Reading that as a rep would publish news nobody made and break the echo check."""
        user = self._client.user_id
        if not user:
            return
        for record in batch.records:
            owner = record.payload.get("OwnerId")
            if isinstance(owner, str) and owner[:15] == user[:15]:
                record.payload["OwnerId"] = None

    def fields_for(self, entity: str) -> list[str]:
        """The fields read for an entity: those its inbound spec names, plus `fields:` from the settings."""
        if entity not in self._fields:
            key = (self._system, entity, Direction.INBOUND.value)
            named = read_fields(self._catalog.get(*key).spec) if key in self._catalog else []
            # The external-id field is always read: it tells a record Crossdock wrote from one it has never seen.
            extra = [self._settings.external_id_field, *self._settings.fields.get(entity, [])]
            self._fields[entity] = soql_fields(named + extra)
        return self._fields[entity]

    async def upsert(self, entity: str, requests: Sequence[UpsertRequest]) -> list[UpsertResult]:
        """Create or update records by Crossdock_Id__c, 200 per call, one result per request in order."""
        if not requests:
            return []
        if entity == "price_list":
            return await self._pricebooks.write(requests)
        return await upsert_records(self._client, self._sobject(entity), self._settings.external_id_field, requests)

    async def stamp_canonical_ids(self, entity: str, links: Sequence[tuple[str, str]]) -> None:
        """Write canonical ids into records first seen in Salesforce (their Crossdock_Id__c), 200 per call.

        Afterwards upserts by external id find these records, and relationships by external id
        (`Account: {Crossdock_Id__c: ...}` on a contact) resolve to them.
        """
        if entity == SALES_ORDER:
            # Only Orders: a won Opportunity's Crossdock_Id__c is the opportunity's, not the order taken from it.
            links = [
                (local_id, canonical_id) for local_id, canonical_id in links if local_id.startswith(ORDER.key_prefix)
            ]
        if not links or entity == "price_list":
            return
        sobject = ORDER.sobject if entity == SALES_ORDER else self._sobject(entity)
        requests = [UpsertRequest(canonical_id, {}, local_id=local_id) for local_id, canonical_id in links]
        results = await upsert_records(self._client, sobject, self._settings.external_id_field, requests)
        failed = [result for result in results if result.error is not None]
        if failed:
            first = failed[0].error
            assert first is not None
            raise ConnectorError(
                first.kind,
                f"{self._system}: {len(failed)} of {len(links)} canonical ids not stamped; first: {first}",
                retry_after_s=first.retry_after_s,
            )

    async def retire_duplicate(self, retirement: DuplicateRetirement) -> str:
        """A merge carried here: the losing account marked (its Description), never deleted."""
        return await mark_merged(self._client, self._sobject(retirement.entity), retirement)

    async def restore_duplicate(self, entity: str, local_id: str, note: str) -> str:
        """An unmerge carried here: noted on the account."""
        return await mark_unmerged(self._client, self._sobject(entity), local_id, note)

    # -- OrderStatusBoard -----------------------------------------------------------------------------------------

    async def report_order_status(self, report: OrderStatusReport) -> None:
        """Write the ERP's status onto the CRM order (an Order or a won Opportunity) and its lines, idempotently."""
        await self._status_board.report_order_status(report)

    async def read_order_status(self, order_local_id: str) -> OrderStatusReport:
        """The status the CRM order shows now."""
        return await self._status_board.read_order_status(order_local_id)

    async def order_line_ids(self, order_local_id: str) -> list[str]:
        """The Salesforce ids of the order's lines by line number: line n of the captured order is `ids[n - 1]`."""
        return await self._status_board.order_line_ids(order_local_id)

    async def close(self) -> None:
        """End the CDC session and close the HTTP connections."""
        try:
            await self._cdc.close()
        finally:
            await self._client.close()

    def _sobject(self, entity: str) -> str:
        sobject = self._settings.sobject(entity)
        if sobject is None:
            raise ConnectorError(
                ErrorKind.CONFIGURATION,
                f"{self._system}: no Salesforce object for entity {entity!r}; add `objects: {{{entity}: <sObject>}}` "
                f"to the system's settings",
            )
        return sobject


def from_settings(name: str, options: Mapping[str, Any]) -> SalesforceConnector:
    """Build the connector for a configured system from its settings (secrets as `SecretRef`s); opens nothing.

    Raises ConfigError naming each wrong setting as `systems.<name>.<path>`.
    """
    try:
        settings = SalesforceSettings.model_validate(dict(options))
    except ValidationError as exc:
        problems = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        (where, what), *rest = problems
        hint = "see the settings of connectors/salesforce/config.py (login_url, auth, daily_call_budget, capture)"
        more = tuple(ConfigProblem(f"systems.{name}.{loc}", msg, hint) for loc, msg in rest)
        raise ConfigError(f"systems.{name}.{where}", what, hint, more=more) from None
    policy = egress_policy(settings)
    for key in ("login_url", "instance_url"):
        url = getattr(settings, key)
        if url is None:
            continue
        try:
            policy.check(url, owner=f"systems.{name}.{key}")
        except EgressRefusedError as exc:
            raise ConfigError(f"systems.{name}.{key}", str(exc), "or point it at the org's public URL") from None
    return SalesforceConnector(name, settings)
