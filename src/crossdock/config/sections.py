"""The file's sections as models: flows (source, targets, retry policy), systems (a connector type and its own
settings, secrets by reference) and the event log backend."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, InstanceOf, model_validator

from crossdock.config.errors import _problem
from crossdock.config.secret_refs import SecretRef, _with_secret_refs

_NAME = r"^[a-z][a-z0-9_-]*$"
Name = Annotated[str, Field(pattern=_NAME, max_length=64)]


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
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(s|m|h|d)$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
GOVERNANCE_FIELDS = (
    "business_owner",
    "technical_owner",
    "system_of_record",
    "sla_target",
    "criticality",
    "escalation_path",
)
_LEGACY_GOVERNANCE = ("business_owner", "technical_owner", "system_of_record", "sla", "criticality")


def duration_seconds(text: str) -> float:
    """`90s`, `15m`, `4h`, `1d` in seconds; ValueError for anything else."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration; write a number and a unit: 90s, 15m, 4h or 1d")
    return float(match.group(1)) * _SECONDS[match.group(2)]


class FlowGovernance(_Section):
    """Who answers for a flow and how much it matters: the catalogue `crossdock lint` checks and the console shows.

    Every field may be left out when loading; `crossdock lint` refuses a flow that lacks any of
    `GOVERNANCE_FIELDS`.
    """

    business_owner: str | None = Field(default=None, description="who decides what the flow should do")
    technical_owner: str | None = Field(default=None, description="who is called when it breaks")
    system_of_record: Name | None = Field(default=None, description="the system whose data wins")
    sla_target: str | None = Field(default=None, description="how fresh the targets must be: 90s, 15m, 4h, 1d")
    criticality: Criticality | None = None
    escalation_path: list[str] = Field(
        default_factory=list, description="whom to call, in order, when the SLA is missed"
    )
    # The console asks a second person to approve replays of a sensitive flow's dead letters.
    sensitive: bool = False

    @model_validator(mode="after")
    def _sla_is_a_duration(self) -> Self:
        if self.sla_target is not None:
            try:
                duration_seconds(self.sla_target)
            except ValueError as exc:
                raise _problem("duration", str(exc), "write e.g. `15m`", ("sla_target",)) from None
        return self

    @property
    def sla_seconds(self) -> float | None:
        """The SLA target in seconds, if set."""
        return duration_seconds(self.sla_target) if self.sla_target is not None else None

    def missing(self) -> list[str]:
        """The catalogue fields this flow still lacks."""
        return [name for name in GOVERNANCE_FIELDS if not getattr(self, name)]


class FlowConfig(_Section):
    """One flow: changes of one entity in one system, delivered to one or more targets, with its governance."""

    name: Name
    source: FlowSource
    targets: list[FlowTarget] = Field(min_length=1)
    description: str | None = None
    governance: FlowGovernance = Field(default_factory=FlowGovernance)

    @model_validator(mode="before")
    @classmethod
    def _governance_is_a_section(cls, raw: Any) -> Any:
        if isinstance(raw, Mapping) and any(key in raw for key in _LEGACY_GOVERNANCE):
            found = [key for key in _LEGACY_GOVERNANCE if key in raw]
            raise _problem(
                "governance_section",
                f"{', '.join(found)} belong under `governance:` now",
                "move them into a `governance:` mapping of the flow (`sla` is called `sla_target` there) and add "
                "escalation_path; `crossdock lint` lists what is missing",
                (found[0],),
            )
        return raw

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


class TaxRuleConfig(_Section):
    """Lines shipped to `country` (and `subdivision`, if given) get these ERP tax codes."""

    country: str = Field(pattern=r"^[A-Z]{2}$")
    subdivision: str | None = Field(default=None, pattern=r"^[A-Z0-9]{1,3}$")
    tax_codes: list[str] = Field(default_factory=list)


class ShippingRuleConfig(_Section):
    """Orders with a goods subtotal of at least `min_subtotal` ship by `method` for `freight`."""

    min_subtotal: Decimal = Field(default=Decimal(0), ge=0)
    method: str
    freight: Decimal = Field(default=Decimal(0), ge=0)


class StepDrillConfig(_Section):
    """Make a quote-to-order step fail for good for orders whose customer PO matches, to rehearse compensation."""

    step: str
    customer_po: str


class OrdersConfig(_Section):
    """Quote-to-order: which systems take and show orders, and the rules it applies."""

    erp: Name
    crm: Name | None = None
    backorder_policy: Literal["ship_partial", "hold"] = "ship_partial"
    ship_complete_customers: list[str] = Field(
        default_factory=list, description="canonical customer ids that never take partial shipments"
    )
    price_tolerance_percent: Decimal = Field(default=Decimal(2), ge=0, le=100)
    price_tolerance_amount: Decimal = Field(default=Decimal("0.01"), ge=0)
    backorder_recheck_s: float = Field(default=4 * 3600.0, gt=0)
    backorder_give_up_days: int = Field(default=30, ge=1)
    supplier_answer_timeout_days: int = Field(default=14, ge=1)
    default_lead_time_days: int = Field(default=7, ge=0)
    tax_rules: list[TaxRuleConfig] = Field(default_factory=list)
    shipping_rules: list[ShippingRuleConfig] = Field(default_factory=list)
    drills: list[StepDrillConfig] = Field(default_factory=list)


class RatePlanConfig(_Section):
    """A token bucket: `burst` requests at once, refilled at `requests_per_second`."""

    requests_per_second: float = Field(gt=0)
    burst: int = Field(ge=1)


class InboundWebhookConfig(_Section):
    """A system that sends us Standard Webhooks: the secrets its signatures are checked with (by reference)."""

    signing_secrets: list[InstanceOf[SecretRef]] = Field(
        min_length=1, description="env:NAME or file:/path references to whsec_ secrets"
    )
    event_type: str = Field(
        description="the event type its payloads are logged as, e.g. crossdock.shipment.delivered.v1"
    )

    @model_validator(mode="before")
    @classmethod
    def _secrets_by_reference(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and isinstance(raw.get("signing_secrets"), list):
            refs = [_reference_only(value, ("signing_secrets", n)) for n, value in enumerate(raw["signing_secrets"])]
            return {**raw, "signing_secrets": refs}
        return raw


class ApiConfig(_Section):
    """The HTTP API (`crossdock serve`): where it listens, how its tokens are signed, its limits and webhooks."""

    host: str = "127.0.0.1"
    port: int = Field(default=8400, ge=1, le=65535)
    issuer: str = "crossdock"
    audience: str = "crossdock-api"
    # `kid:base64url-key[,kid:key...]` behind a reference; the first key signs, the others still verify (rotation).
    # Without it each process makes a key of its own at start, and tokens die with the process.
    signing_keys: InstanceOf[SecretRef] | None = None
    token_ttl_s: int = Field(default=300, ge=30, le=3600)
    idempotency_ttl_h: float = Field(default=24.0, gt=0, le=24 * 7)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    max_page_size: int = Field(default=200, ge=1, le=1000)
    rate_plans: dict[str, RatePlanConfig] = Field(default_factory=dict)
    # Where partners' webhook URLs may point besides the public internet (a partner on a private link).
    webhook_allowed_hosts: list[str] = Field(default_factory=list)
    webhook_allow_private_network: bool = False
    inbound_webhooks: dict[str, InboundWebhookConfig] = Field(default_factory=dict)
    availability_max_age_s: float = Field(default=60.0, gt=0)
    # Where order submissions are stored: `process`, a separate intake process beside the API (it keeps the SQL
    # work off the API's interpreter lock; needs a SQLite or PostgreSQL store and log), or `thread`, a writer
    # thread in the API process (always possible; what in-memory stores and the NATS log get).
    order_intake: Literal["process", "thread"] = "process"

    @model_validator(mode="before")
    @classmethod
    def _keys_by_reference(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and raw.get("signing_keys") is not None:
            return {**raw, "signing_keys": _reference_only(raw["signing_keys"], ("signing_keys",))}
        return raw


class ObservabilityConfig(_Section):
    """Traces, metrics and logs: traces are kept locally for the console, and also sent over OTLP when an
    endpoint is set; logs are JSON (or text) on stderr with secrets redacted."""

    service_name: str = Field(default="crossdock", min_length=1, description="`service.name` on every span")
    tracing: bool = Field(default=True, description="record spans at all (local keeper, OTLP)")
    sampling_ratio: float = Field(
        default=1.0, ge=0, le=1, description="share of new traces recorded; continued traces follow their parent"
    )
    keep_traces_h: float = Field(default=72.0, gt=0, description="how long the console keeps spans")
    # OTLP over HTTP (protobuf), e.g. https://otel-collector.example.com:4318/v1/traces. Off when not set.
    otlp_endpoint: str | None = None
    # A reference to `name=value[,name=value]` headers the collector wants (an API key): `env:NAME`, `file:/path`.
    otlp_headers: InstanceOf[SecretRef] | None = None
    # A collector on localhost or a private network is refused unless said so, as for every outbound URL.
    otlp_allow_private_network: bool = False
    otlp_allowed_hosts: list[str] = Field(default_factory=list)
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="before")
    @classmethod
    def _headers_by_reference(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and raw.get("otlp_headers") is not None:
            return {**raw, "otlp_headers": _reference_only(raw["otlp_headers"], ("otlp_headers",))}
        return raw


def _reference_only(value: Any, path: tuple[str | int, ...]) -> Any:
    """A setting that is always a secret: a reference (`env:NAME`, `file:/path`), never the value itself."""
    if SecretRef.is_reference(value):
        return _with_secret_refs(value, path)
    raise _problem(
        "literal_secret",
        f"`{path[0]}` must be a secret reference; secrets must not be written into the config file",
        "put it in an environment variable or a file and write `env:VARIABLE_NAME` or `file:/run/secrets/name`",
        path,
    )


class X12IdentityConfig(_Section):
    """Who a party is in an X12 envelope: ISA qualifier and id, GS application code."""

    qualifier: str = Field(default="ZZ", pattern=r"^[0-9A-Z]{2}$")
    id: str = Field(min_length=1, max_length=15, pattern=r"^[ -~]+$")
    application_code: str | None = Field(default=None, min_length=2, max_length=15)


class PartnerX12Config(_Section):
    """A partner's X12 setup: both parties' identities, the version it speaks, delimiters, what we send it."""

    partner: X12IdentityConfig
    us: X12IdentityConfig
    version: Literal["004010", "004010VICS", "004060", "005010"] = "004010"
    element_separator: str = Field(default="*", min_length=1, max_length=1)
    component_separator: str = Field(default=">", min_length=1, max_length=1)
    segment_terminator: str = Field(default="~", min_length=1, max_length=1)
    strict: bool = Field(default=False, description="refuse envelope sloppiness instead of reporting it")
    usage: Literal["P", "T"] = "P"
    send_997: bool = True


class PartnerSlaConfig(_Section):
    """How quickly the partner must answer, before an exception goes to the owner queue."""

    acknowledgement_within_h: float = Field(default=24.0, gt=0, description="an 855 after our 850")
    ship_notice_within_days: float | None = Field(default=None, gt=0, description="an 856 after our 850")
    invoice_within_days: float | None = Field(default=None, gt=0, description="an 810 after our 850")


class PartnerContactConfig(_Section):
    """Someone to call at the partner."""

    name: str
    role: str = "edi"
    email: str | None = None
    phone: str | None = None


class PartnerConfig(_Section):
    """One trading partner: who it is to us, its X12 setup, its transport, code conversions, SLAs, contacts."""

    role: Literal["supplier", "customer"]
    canonical_id: str = Field(min_length=1, description="the supplier's or customer's canonical id")
    name: str | None = None
    x12: PartnerX12Config
    # The transport's settings as the SFTP connector reads them (`connectors/sftp/config.py`), secrets by reference.
    sftp: dict[str, Any]
    uom_codes: dict[str, str] = Field(default_factory=dict, description="the partner's UOM code -> ours")
    ship_method_codes: dict[str, str] = Field(default_factory=dict, description="the partner's routing code -> ours")
    sla: PartnerSlaConfig = Field(default_factory=PartnerSlaConfig)
    contacts: list[PartnerContactConfig] = Field(default_factory=list)
    csv_files: Literal["inventory", "orders", "price_list"] | None = Field(
        default=None, description="what the partner's .csv files hold, if it sends CSV batches"
    )

    @model_validator(mode="before")
    @classmethod
    def _secrets_by_reference(cls, raw: Any) -> Any:
        if isinstance(raw, Mapping) and isinstance(raw.get("sftp"), Mapping):
            return {**raw, "sftp": _with_secret_refs(raw["sftp"], ("sftp",))}
        return raw


class SurvivorshipConfig(_Section):
    """Which value of each attribute a merged golden record keeps, after its owner's (the `ownership:` section)."""

    rule: Literal["most_recent", "most_complete", "most_trusted"] = "most_recent"
    # Per attribute, another rule; `union` keeps every record's list items (identifiers, say).
    attributes: dict[str, Literal["most_recent", "most_complete", "most_trusted", "union"]] = Field(
        default_factory=dict
    )
    trust: list[Name] = Field(default_factory=list, description="systems, most trusted first")


class MdmConfig(_Section):
    """Master data for customers: the online duplicate gate, survivorship, and how merges reach the systems."""

    # Hold likely duplicates among new customers captured from the flows' sources for a steward.
    gate_captures: bool = True
    link_threshold: float = Field(default=0.95, gt=0, le=1, description="at or above: the same customer, linked")
    review_threshold: float = Field(default=0.60, gt=0, le=1, description="at or above: a steward decides")
    survivorship: SurvivorshipConfig = Field(default_factory=SurvivorshipConfig)
    # Per system: `retire` (Tryton: the losing party made inactive, replaced by the survivor; Salesforce: the
    # losing account marked) or `none`. Systems not listed retire.
    merge_actions: dict[Name, Literal["retire", "none"]] = Field(default_factory=dict)
    # The system new customers named by EDI partners are created in (a flow from each customer partner to it).
    new_customers_to: Name | None = None

    @model_validator(mode="after")
    def _thresholds(self) -> Self:
        if self.review_threshold > self.link_threshold:
            raise ValueError(
                f"review_threshold {self.review_threshold} is above link_threshold {self.link_threshold}; "
                "a steward reviews the scores between the two, so review must be the lower"
            )
        return self
