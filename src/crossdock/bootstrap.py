"""The composition root: reads settings, picks adapters, wires them. Nothing else in Crossdock chooses an adapter.

Tests pass their own adapters (a memory log, a sandbox connector) through the keyword arguments instead of
patching import paths.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crossdock.config import ConfigError, EventLogBackend, SecretRef, Settings, SystemConfig
from crossdock.observability.keeper import MemoryTraceKeeper, TraceKeeper
from crossdock.observability.logs import Redactor
from crossdock.observability.meters import Meters
from crossdock.ports.connector import Connector
from crossdock.ports.egress import EgressPolicy, EgressRefusedError
from crossdock.ports.event_log import EventLog
from crossdock.ports.orders import OrderStatusBoard
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
from crossdock.sync.worker import BackgroundService, Worker

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

    from crossdock.api.context import ApiContext
    from crossdock.api.customer_matching import CustomerMatcher
    from crossdock.api.key_purge import ExpiredKeyPurge
    from crossdock.api.order_intake import OrderIntake
    from crossdock.api.security.tokens import Keyring
    from crossdock.config.sections import OrdersConfig, PartnerConfig
    from crossdock.console.context import ConsoleContext, FlowInfo
    from crossdock.console.replay import ReplayExecutor
    from crossdock.mdm.service import MasterData
    from crossdock.mdm.store_index import MatchKeys
    from crossdock.observability.export import TraceSink
    from crossdock.orders.policy import OrderPolicy
    from crossdock.orders.quote_to_order import OrderSystems
    from crossdock.orders.service import OrderService
    from crossdock.orders.trace import Tracer
    from crossdock.partners.profiles import PartnerProfile
    from crossdock.partners.service import PartnerService
    from crossdock.process import ProcessEngine
    from crossdock.webhooks.dispatcher import WebhookDispatcher

ConnectorFactory = Callable[[str, SystemConfig], Connector]
logger = logging.getLogger(__name__)


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
    engines: dict[tuple[str, bool], ProcessEngine] = field(default_factory=dict)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    meters: Meters = field(default_factory=Meters)  # this process's counters, exposed by /metrics
    traces: TraceKeeper = field(default_factory=MemoryTraceKeeper)  # spans kept for the console
    trace_sink: TraceSink | None = None  # where this runtime's spans go; None when tracing is off
    # The store and log were opened from the settings (not handed in), so another process can open them too.
    adapters_from_settings: bool = True
    mdm_parts: MasterData | None = field(default=None, repr=False)  # built on first use when `mdm:` is set
    # Flows other sections imply (new EDI buyers delivered to the ERP, `mdm.new_customers_to`); not in `flows:`.
    derived_flows: list[Flow] = field(default_factory=list)

    def worker(self, consumer: str | None = None, *, poll_interval_s: float = 1.0, webhooks: bool = False) -> Worker:
        """A worker running every configured flow's capture and delivery loops; with `webhooks`, partners' webhook
        deliveries too (each delivery is claimed, so any number of workers may send)."""
        consumer = consumer or default_consumer_id()
        captures: list[CaptureRunner] = []
        deliveries: list[DeliveryRunner] = []
        for flow in [*self.flows, *self.derived_flows]:
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
        services: list[BackgroundService] = []
        if self.settings.orders is not None:
            intake_flow = self.order_intake_flow()
            if intake_flow is not None:
                source = self.connector(intake_flow.source_system)
                captures.append(
                    CaptureRunner(
                        intake_flow,
                        source,
                        self.store,
                        self.publisher,
                        self.mappings,
                        self.governor(),
                        verbs=("submitted", "submitted"),
                    )
                )
            services.append(self.order_service(consumer))
        if self.settings.partners:
            services.append(self.partner_service(consumer))
        if webhooks:
            services.append(self.webhook_dispatcher(consumer))
        if self.settings.mdm is not None:
            from crossdock.mdm.service import MdmService

            services.append(MdmService(self.master_data().stewardship))
        services.append(self.replay_executor())
        services.append(self.expired_key_purge())
        return Worker(captures, deliveries, services=services, poll_interval_s=poll_interval_s, meters=self.meters)

    def order_intake_flow(self) -> Flow | None:
        """The capture of submitted orders from the CRM: no targets, its events start quote-to-order."""
        orders = self.settings.orders
        if orders is None or orders.crm is None:
            return None
        return Flow(f"orders-from-{orders.crm}", orders.crm, "order", (), source_entity="sales_order")

    def order_systems(self) -> OrderSystems:
        """The ERP's order desk, the CRM's status board and the rules quote-to-order runs with."""
        from crossdock.orders.quote_to_order import OrderSystems

        orders = self.settings.orders
        if orders is None:
            raise BootstrapError("no `orders:` section in crossdock.yaml; name the erp (and crm) that take orders")
        erp = self.unguarded(orders.erp)
        desk = getattr(erp, "order_desk", None)
        if desk is None:
            raise BootstrapError(f"system {orders.erp!r} cannot take orders: its connector has no order desk")
        board = None
        if orders.crm is not None:
            crm = self.unguarded(orders.crm)
            if not isinstance(crm, OrderStatusBoard):
                raise BootstrapError(f"system {orders.crm!r} cannot show order status: its connector has no board")
            board = crm
        return OrderSystems(erp=desk(), crm=board, store=self.store, policy=order_policy(orders))

    def process_engine(self, consumer: str | None = None, *, with_definitions: bool = True) -> ProcessEngine:
        """The process engine on the store; with the order definitions when `orders:` is configured.

        Tools that only read or mark processes (the CLI's list, show, retry, cancel) pass `with_definitions=False`
        and need no connector; a worker runs what they mark.
        """
        from crossdock.orders.quote_to_order import QuoteToOrder
        from crossdock.process import ProcessEngine

        owner = consumer or default_consumer_id()
        key = (owner, with_definitions)
        engine = self.engines.get(key)
        if engine is None:
            definitions = []
            if with_definitions and self.settings.orders is not None:
                definitions.extend(QuoteToOrder(self.order_systems()).definitions())
            engine = ProcessEngine(self.store, definitions=definitions, owner=owner, lease_s=self.settings.lease_ttl_s)
            self.engines[key] = engine  # one journal writer thread per engine: reuse it, close it with the runtime
        return engine

    def order_service(self, consumer: str | None = None) -> OrderService:
        """Order intake, due processes and the outbox relay, as one worker service."""
        from crossdock.orders.intake import OrderIntake
        from crossdock.orders.service import OrderService
        from crossdock.orders.supplier_invoices import SupplierInvoiceBooking

        consumer = consumer or default_consumer_id()
        engine = self.process_engine(consumer)
        orders = self.settings.orders
        intake = OrderIntake(
            self.log, engine, self.store, consumer=consumer, crm_system=orders.crm if orders is not None else None
        )
        # Suppliers' 810s are booked against the ERP's purchases (its order desk) by the same service.
        invoices = (
            SupplierInvoiceBooking(self.log, self.store, self.order_systems().erp, consumer=consumer)
            if orders is not None
            else None
        )
        return OrderService(intake, engine, self.log, invoices)

    def api_context(self, order_intake: OrderIntake | None = None) -> ApiContext:
        """What the HTTP API works with: the store, the publisher, token keys, rate plans, the ERP's order desk;
        order submissions go to `order_intake` (the intake process's link), else to a writer thread."""
        from crossdock.api.context import ApiContext, ClientDirectory
        from crossdock.api.limits import DEFAULT_PLANS, RatePlan
        from crossdock.api.metrics import ApiMetrics
        from crossdock.api.order_intake import OrderIntakeWriter
        from crossdock.api.order_submission import SubmissionPreparer
        from crossdock.api.security.tokens import TokenIssuer
        from crossdock.process.journal import JournalWriter
        from crossdock.store.rules import utc_now

        config = self.settings.api
        plans = dict(DEFAULT_PLANS)
        plans.update(
            {name: RatePlan(name, plan.requests_per_second, plan.burst) for name, plan in config.rate_plans.items()}
        )
        orders = self.settings.orders
        desk = None
        if orders is not None:
            # The desk is the connector's own, not the breaker wrapper's (which has none); the API checks the circuit.
            make_desk = getattr(self.unguarded(orders.erp), "order_desk", None)
            desk = make_desk() if make_desk is not None else None
        inbound = config.inbound_webhooks
        return ApiContext(
            config=config,
            store=self.store,
            publisher=self.publisher,
            issuer=TokenIssuer(
                api_keyring(config.signing_keys),
                issuer=config.issuer,
                audience=config.audience,
                default_ttl_s=config.token_ttl_s,
            ),
            writer=JournalWriter(self.store, lease_s=self.settings.lease_ttl_s, clock=utc_now, name="crossdock-api"),
            order_intake=order_intake
            or OrderIntakeWriter(self.store, self.log, SubmissionPreparer(self.publisher), clock=utc_now),
            log=self.log,
            egress=EgressPolicy(
                allow_private_network=config.webhook_allow_private_network,
                allowed_hosts=tuple(config.webhook_allowed_hosts),
            ),
            plans=plans,
            clients=ClientDirectory(self.store),
            order_desk=desk,
            erp_system=orders.erp if orders is not None else None,
            inbound_secrets={
                source: [ref.resolve().get_secret_value() for ref in hook.signing_secrets if isinstance(ref, SecretRef)]
                for source, hook in inbound.items()
            },
            inbound_event_types={source: hook.event_type for source, hook in inbound.items()},
            connectors=self.connectors,
            system_types={name: system.type for name, system in self.settings.systems.items()},
            metrics=ApiMetrics(self.meters),
            customer_matcher=self.customer_matcher(),
        )

    def customer_matcher(self) -> CustomerMatcher:
        """How the API matches applicants against golden customers: through the MDM gate when `mdm:` is set."""
        from crossdock.api.customer_matching import GateCustomerMatcher, NoCustomerMatcher

        if self.settings.mdm is None:
            return NoCustomerMatcher()
        return GateCustomerMatcher(self.master_data().gate)

    def tracer(self) -> Tracer:
        """Timelines of business transactions across systems (`crossdock trace`, the console's lineage page)."""
        from crossdock.orders.trace import Tracer, TraceSystems

        orders = self.settings.orders
        return Tracer(
            self.store,
            self.process_engine(with_definitions=False),
            TraceSystems(
                erp=orders.erp if orders is not None else "erp",
                crm=orders.crm if orders is not None else None,
                partners={name: f"edi-{name}" for name in self.settings.partners},
            ),
        )

    def flow_infos(self) -> list[FlowInfo]:
        """The configured flows as the console shows them, governance included."""
        from datetime import timedelta

        from crossdock.console.context import FlowInfo, FlowTargetInfo

        infos = []
        for config, flow in zip(self.settings.flows, self.flows, strict=True):
            governance = config.governance
            sla = governance.sla_seconds
            infos.append(
                FlowInfo(
                    name=flow.name,
                    source_system=flow.source_system,
                    entity=flow.entity,
                    targets=tuple(FlowTargetInfo(t.system, t.entity, flow.group(t)) for t in flow.targets),
                    business_owner=governance.business_owner,
                    technical_owner=governance.technical_owner,
                    sla=timedelta(seconds=sla) if sla is not None else None,
                    criticality=governance.criticality,
                    sensitive=governance.sensitive,
                )
            )
        return infos

    def console_context(self) -> ConsoleContext:
        """What the operations console works with: the store, the log, the process engine, the flows and their
        governance (a sensitive flow's replays need a second person), the systems behind their breakers."""
        from crossdock.console.context import ConsoleContext

        return ConsoleContext(
            store=self.store,
            log=self.log,
            engine=self.process_engine(with_definitions=False),
            tracer=self.tracer(),
            flows=self.flow_infos(),
            connectors=self.connectors,
            system_types={name: system.type for name, system in self.settings.systems.items()},
        )

    def expired_key_purge(self) -> ExpiredKeyPurge:
        """Expired Idempotency-Key answers, forgotten in small batches by whichever worker gets there first."""
        from crossdock.api.key_purge import ExpiredKeyPurge
        from crossdock.store.rules import utc_now

        return ExpiredKeyPurge(self.store, clock=utc_now)

    def replay_executor(self) -> ReplayExecutor:
        """Approved dead-letter replays, executed once by whichever worker sees them first."""
        from crossdock.console.replay import ReplayExecutor

        return ReplayExecutor(self.console_context())

    def webhook_dispatcher(self, consumer: str | None = None) -> WebhookDispatcher:
        """Partners' webhook deliveries, as a worker service."""
        import httpx

        from crossdock.webhooks.dispatcher import WebhookDispatcher

        config = self.settings.api
        # trust_env=False: a proxy from the environment would sit between the egress check and the connection.
        http = httpx.AsyncClient(trust_env=False, follow_redirects=False)
        self.closers.append(http.aclose)
        egress = EgressPolicy(
            allow_private_network=config.webhook_allow_private_network,
            allowed_hosts=tuple(config.webhook_allowed_hosts),
        )
        return WebhookDispatcher(self.log, self.store, http, egress, consumer=consumer or default_consumer_id())

    def partner_profiles(self) -> dict[str, PartnerProfile]:
        """The trading partners of the `partners:` section."""
        return {name: partner_profile(name, config) for name, config in self.settings.partners.items()}

    def partner_service(self, consumer: str | None = None) -> PartnerService:
        """850s out to EDI suppliers, partners' files in, SLA clocks: one worker service."""
        from crossdock.connectors.sftp.config import SftpMailboxSettings
        from crossdock.connectors.sftp.mailbox import SftpPartnerMailbox
        from crossdock.partners.file_attempts import StoreFileAttempts
        from crossdock.partners.inbound import PartnerFileReader
        from crossdock.partners.outbound import PurchaseOrderSender
        from crossdock.partners.service import PartnerService
        from crossdock.store.rules import utc_now

        profiles = self.partner_profiles()
        mailboxes: dict[str, SftpPartnerMailbox] = {}
        for name, profile in profiles.items():
            settings = SftpMailboxSettings.model_validate(self.settings.partners[name].sftp)
            # Failed attempts at a file are counted in the store, so a restart does not start them again.
            attempts = StoreFileAttempts(self.store, name, clock=utc_now)
            mailboxes[name] = SftpPartnerMailbox(settings, system=profile.system, attempts=attempts)
            self.closers.append(mailboxes[name].close)
        buyers = self.master_data().buyers if self.settings.mdm is not None else None
        readers = {
            name: PartnerFileReader(
                profile,
                self.store,
                self.publisher,
                mailboxes[name],
                clock=utc_now,
                buyers=None if profile.is_supplier else buyers,
            )
            for name, profile in profiles.items()
        }
        suppliers = {profile.canonical_id: profile for profile in profiles.values() if profile.is_supplier}
        sender = PurchaseOrderSender(
            self.log, self.store, suppliers, mailboxes, consumer=consumer or default_consumer_id(), clock=utc_now
        )
        return PartnerService(sender, readers, mailboxes, self.store, clock=utc_now)

    def governor(self) -> ChangeGovernor:
        """What every captured change passes before it is logged: echo suppression, then (with `mdm:`) the customer
        duplicate gate, attribute ownership, and (with `mdm:`) the golden customers' match keys."""
        mdm = self.settings.mdm
        if mdm is None:
            return GovernorChain([EchoSuppressor(), OwnershipGovernor(OwnershipPolicy(self.settings.ownership))])
        from crossdock.sync.matching import CustomerMatchGovernor

        gate: list[ChangeGovernor] = [CustomerMatchGovernor(self.master_data().gate)] if mdm.gate_captures else []
        return GovernorChain([EchoSuppressor(), *gate, self._after_gate(self.master_data().keys)])

    def golden_governor(self) -> ChangeGovernor:
        """Attribute ownership and the match keys, without the gate: how a record becomes a golden record."""
        return self._after_gate(self.master_data().keys)

    def _after_gate(self, keys: MatchKeys) -> ChangeGovernor:
        """Ownership, then the match keys: what a captured customer passes after the gate (also when a steward
        lets a held one through)."""
        from crossdock.sync.matching import MatchKeyIndexer

        return GovernorChain([OwnershipGovernor(OwnershipPolicy(self.settings.ownership)), MatchKeyIndexer(keys)])

    def master_data(self) -> MasterData:
        """The customer master-data parts (match index, golden records, gate, stewardship), wired once."""
        if self.mdm_parts is not None:
            return self.mdm_parts
        from crossdock.mdm.edi_buyers import BuyerScreen
        from crossdock.mdm.golden import GoldenKeeper
        from crossdock.mdm.model import Thresholds
        from crossdock.mdm.online import CustomerGate
        from crossdock.mdm.release import EventsRelease
        from crossdock.mdm.service import MasterData
        from crossdock.mdm.stewardship import MergeAction, StewardshipService
        from crossdock.mdm.store_index import MatchKeys, engine_matcher
        from crossdock.mdm.survivorship import Rule, SurvivorshipPolicy
        from crossdock.sync.matching import CAPTURE_CHANNEL, CaptureRelease

        config = self.settings.mdm
        if config is None:
            raise BootstrapError("no `mdm:` section in crossdock.yaml; add one (`mdm: {}` takes the defaults)")
        thresholds = Thresholds(link=config.link_threshold, review=config.review_threshold)
        keys = MatchKeys(engine_matcher(thresholds))
        survivorship = config.survivorship
        policy = SurvivorshipPolicy(
            owners=OwnershipPolicy(self.settings.ownership),
            default=Rule(survivorship.rule),
            rules={attribute: Rule(rule) for attribute, rule in survivorship.attributes.items()},
            trust=tuple(survivorship.trust),
        )
        keeper = GoldenKeeper(policy, keys)
        gate = CustomerGate(keeper, thresholds)
        release = EventsRelease(self.store, keeper, self.publisher)
        systems = {name: self.unguarded(name) for name in self.connectors}
        capture = CaptureRelease(
            self.store, self.publisher, self._after_gate(keys), {f.name: f for f in self.flows}, systems
        )
        stewardship = StewardshipService(
            self.store,
            keeper,
            releasers={CAPTURE_CHANNEL: capture, "events": release},
            systems=systems,
            merge_actions={name: MergeAction(action) for name, action in config.merge_actions.items()},
            sink=self.publisher,
        )
        self.mdm_parts = MasterData(keys, keeper, gate, stewardship, release, BuyerScreen(self.store, gate, release))
        return self.mdm_parts

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
        """Close process engines, connectors, the log, the trace sink (its last spans kept) and the store."""
        for engine in self.engines.values():
            engine.close()
        for closer in self.closers:
            await closer()
        for connector in self.connectors.values():
            await connector.close()
        await self.log.close()
        if self.trace_sink is not None:
            await asyncio.to_thread(self.trace_sink.close)
        self.store.dispose()


def api_keyring(reference: str | None) -> Keyring:
    """The token signing keys from `api.signing_keys` (`kid:base64url,...`, the first signs); without the setting,
    a key made now, which lives as long as this process (so do the tokens it signs)."""
    from crossdock.api.security.tokens import Keyring, SigningKey

    if reference is None:
        logger.warning(
            "api.signing_keys is not set: tokens are signed with a key made at start and stop working on restart; "
            "set it (env:NAME) so that several processes and restarts accept the same tokens"
        )
        return Keyring(SigningKey.generate())
    text = reference.resolve().get_secret_value() if isinstance(reference, SecretRef) else reference
    keys = []
    for item in text.split(","):
        kid, sep, encoded = item.strip().partition(":")
        if not sep:
            raise BootstrapError("api.signing_keys must read `kid:base64url-key[,kid:key...]`; the first key signs")
        keys.append(SigningKey.from_b64url(kid, encoded))
    return Keyring(keys[0], tuple(keys[1:]))


def partner_profile(name: str, config: PartnerConfig) -> PartnerProfile:
    """A partner's profile from its `partners:` entry."""
    from datetime import timedelta

    from crossdock.edi.x12 import Delimiters
    from crossdock.partners.profiles import PartnerProfile, X12Identity

    x12 = config.x12
    within = config.sla.ship_notice_within_days
    invoiced = config.sla.invoice_within_days
    return PartnerProfile(
        name=name,
        role=config.role,
        canonical_id=config.canonical_id,
        partner=X12Identity(x12.partner.id, x12.partner.qualifier, x12.partner.application_code),
        us=X12Identity(x12.us.id, x12.us.qualifier, x12.us.application_code),
        version=x12.version,
        delimiters=Delimiters(
            element=x12.element_separator, component=x12.component_separator, segment=x12.segment_terminator
        ),
        strict=x12.strict,
        usage=x12.usage,
        send_997=x12.send_997,
        uom_codes=dict(config.uom_codes),
        ship_method_codes=dict(config.ship_method_codes),
        acknowledgement_within=timedelta(hours=config.sla.acknowledgement_within_h),
        ship_notice_within=None if within is None else timedelta(days=within),
        invoice_within=None if invoiced is None else timedelta(days=invoiced),
        csv_files=config.csv_files,
    )


def order_policy(orders: OrdersConfig) -> OrderPolicy:
    """The quote-to-order rules from the `orders:` section."""
    from datetime import timedelta

    from crossdock.orders.policy import (
        BackorderPolicy,
        OrderPolicy,
        PriceTolerance,
        ShippingRule,
        ShippingTable,
        StepDrill,
        TaxRule,
        TaxTable,
    )

    return OrderPolicy(
        price_tolerance=PriceTolerance(orders.price_tolerance_percent, orders.price_tolerance_amount),
        backorder=BackorderPolicy(orders.backorder_policy),
        ship_complete_customers=frozenset(orders.ship_complete_customers),
        backorder_recheck=timedelta(seconds=orders.backorder_recheck_s),
        backorder_give_up=timedelta(days=orders.backorder_give_up_days),
        supplier_answer_timeout=timedelta(days=orders.supplier_answer_timeout_days),
        default_lead_time_days=orders.default_lead_time_days,
        tax=TaxTable(tuple(TaxRule(r.country, tuple(r.tax_codes), r.subdivision) for r in orders.tax_rules)),
        shipping=ShippingTable(tuple(ShippingRule(r.min_subtotal, r.method, r.freight) for r in orders.shipping_rules)),
        drills=tuple(StepDrill(d.step, d.customer_po) for d in orders.drills),
    )


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


def new_customer_flows(settings: Settings) -> list[Flow]:
    """With `mdm.new_customers_to`, a flow from each customer partner's EDI system to that system: it delivers the
    new buyers the partner's 850s name (the gate logs them as `customer.created` from `edi-<partner>`)."""
    mdm = settings.mdm
    if mdm is None or mdm.new_customers_to is None:
        return []
    if mdm.new_customers_to not in settings.systems:
        raise BootstrapError(
            f"mdm.new_customers_to names {mdm.new_customers_to!r}, which is not a configured system; name the ERP"
        )
    target = (FlowTarget(mdm.new_customers_to, "customer"),)
    return [
        Flow(f"customer-edi-{name}-to-{mdm.new_customers_to}", f"edi-{name}", "customer", target)
        for name, partner in settings.partners.items()
        if partner.role == "customer"
    ]


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
    traces: TraceKeeper | None = None,
    span_processors: Sequence[SpanProcessor] = (),
) -> Runtime:
    """Wire a Runtime from settings; every keyword replaces the adapter the settings would pick.

    `span_processors` receive every span this runtime records, besides the keeper and OTLP (a test's
    in-memory exporter); `traces` replaces the store's trace keeper.
    """
    from crossdock.log.metered import MeteredEventLog

    adapters_from_settings = store is None and log is None
    store = store or open_store(settings)
    meters = Meters()
    log = MeteredEventLog(log or await open_log(settings), meters)
    keeper = traces or trace_keeper(store)
    return Runtime(
        adapters_from_settings=adapters_from_settings,
        settings=settings,
        store=store,
        log=log,
        publisher=Publisher(log, validate if validate is not None else schema_validator(settings)),
        connectors=connectors if connectors is not None else open_connectors(settings),
        mappings=mappings or mappings_from_settings(settings),
        flows=flows_from_settings(settings),
        derived_flows=new_customer_flows(settings),
        meters=meters,
        traces=keeper,
        trace_sink=open_trace_sink(settings, keeper, span_processors),
    )


def trace_keeper(store: Store) -> TraceKeeper:
    """Where the store keeps spans for the console (SQL and memory stores have one); else in memory."""
    make: Callable[[], TraceKeeper] | None = getattr(store, "trace_keeper", None)
    return make() if make is not None else MemoryTraceKeeper()


def open_trace_sink(
    settings: Settings, keeper: TraceKeeper, processors: Sequence[SpanProcessor] = ()
) -> TraceSink | None:
    """This runtime's spans to the keeper, to OTLP when `observability.otlp_endpoint` is set, and to
    `processors`; None when tracing is off (or the OpenTelemetry SDK, from the `api` extra, is missing)."""
    from datetime import timedelta

    config = settings.observability
    if not config.tracing and not processors:
        return None
    try:
        from crossdock.observability.export import open_sink, otlp_exporter
    except ImportError as exc:
        logger.warning("tracing is off: the OpenTelemetry SDK is not installed (%s); install crossdock[api]", exc)
        return None
    exporters = []
    if config.tracing and config.otlp_endpoint is not None:
        policy = EgressPolicy(
            allow_private_network=config.otlp_allow_private_network, allowed_hosts=tuple(config.otlp_allowed_hosts)
        )
        try:
            policy.check(config.otlp_endpoint, owner="observability.otlp_endpoint")
        except EgressRefusedError as exc:
            raise BootstrapError(
                f"{exc} For a collector, the settings are observability.otlp_allow_private_network and "
                "observability.otlp_allowed_hosts."
            ) from None
        exporters.append(otlp_exporter(config.otlp_endpoint, otlp_headers(config.otlp_headers)))
    return open_sink(
        service_name=config.service_name,
        # A test's own processors see every span; the configured ratio applies otherwise.
        sampling_ratio=config.sampling_ratio if not processors else 1.0,
        keeper=keeper if config.tracing else None,
        retention=timedelta(hours=config.keep_traces_h),
        exporters=exporters,
        processors=processors,
        redact=Redactor(secret_values(settings)),
    )


def otlp_headers(reference: SecretRef | None) -> dict[str, str]:
    """`name=value[,name=value]` behind `observability.otlp_headers`, as headers."""
    if reference is None:
        return {}
    text = reference.resolve().get_secret_value()
    headers = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise BootstrapError("observability.otlp_headers must read `name=value[,name=value]`")
        headers[name.strip()] = value.strip()
    return headers


def secret_values(settings: Settings) -> list[str]:
    """The values behind every secret reference in the settings, for blanking them out of logs and spans.
    A reference that cannot be read now is skipped: the component that needs it reports that itself."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, SecretRef):
            try:
                found.append(value.resolve().get_secret_value())
            except (ConfigError, OSError):
                return
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    for system in settings.systems.values():
        walk(system.options())
    for partner in settings.partners.values():
        walk(partner.sftp)
    api = settings.api
    walk([api.signing_keys, *(ref for hook in api.inbound_webhooks.values() for ref in hook.signing_secrets)])
    walk(settings.observability.otlp_headers)
    return found


def configure_logging(settings: Settings) -> None:
    """Logs of a long-running command (`serve`, `worker`): format and level from `observability`, every
    configured secret redacted."""
    from crossdock.observability import logs

    config = settings.observability
    logs.configure_logging(format=config.log_format, level=config.log_level, secrets=secret_values(settings))
