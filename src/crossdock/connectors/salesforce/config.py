"""Settings of a Salesforce org: where it is, how Crossdock signs in, how many calls it may spend, how it captures.

```yaml
systems:
  crm:
    type: salesforce
    login_url: https://acme.my.salesforce.com      # the token endpoint's host (My Domain for client credentials)
    api_version: "62.0"
    auth:
      grant: jwt_bearer                             # or client_credentials
      client_id: 3MVG9...                           # the connected app's consumer key (not a secret)
      username: integration@acme.example
      private_key: file:/run/secrets/sf_jwt_key.pem
    daily_call_budget: 20000                        # or budget_share: 0.2 of the org's 24-hour allocation
    capture: {mode: poll, overlap_s: 300, page_size: 2000}
```

Secrets are `SecretRef`s (`env:NAME` or `file:/path`) only; a literal is refused by the config loader and here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crossdock.config import SecretRef

DEFAULT_OBJECTS: dict[str, str] = {
    "customer": "Account",
    "contact": "Contact",
    "item": "Product2",
    "price_list": "Pricebook2",
    "order": "Order",
}
"""Canonical entity → sObject; `objects:` in the settings adds to or overrides these."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClientCredentialsAuth(_Section):
    """OAuth 2.0 client credentials: the connected app runs as its configured integration user."""

    grant: Literal["client_credentials"]
    client_id: str = Field(min_length=1)
    client_secret: SecretRef


class JwtBearerAuth(_Section):
    """OAuth 2.0 JWT bearer: an RS256 assertion signed with the connected app's private key, for `username`."""

    grant: Literal["jwt_bearer"]
    client_id: str = Field(min_length=1)
    username: str = Field(min_length=1)
    private_key: SecretRef
    """PEM text of the RSA private key whose certificate is uploaded to the connected app."""
    private_key_passphrase: SecretRef | None = None
    audience: str | None = None
    """The assertion's `aud` (default: https://test.salesforce.com for sandbox orgs, https://login.salesforce.com
    for other salesforce.com hosts, else `login_url`)."""


AuthSettings = Annotated[ClientCredentialsAuth | JwtBearerAuth, Field(discriminator="grant")]


class CaptureSettings(_Section):
    """How changes are found: polling by SystemModstamp (with deletes) or Change Data Capture events."""

    mode: Literal["poll", "cdc"] = "poll"
    overlap_s: float = Field(default=300.0, ge=0, le=86_400)
    """How far back each poll looks again, for transactions that commit after a later one was read."""
    page_size: int = Field(default=2000, ge=200, le=2000)
    """Rows per query response (`Sforce-Query-Options: batchSize`)."""
    deleted_interval_s: float = Field(default=60.0, ge=60)
    """How often the `deleted` endpoint is asked; it covers whole minutes, so more often gains nothing."""
    max_seen: int = Field(default=5_000, ge=100)
    """Most (Id, SystemModstamp) pairs the cursor remembers for de-duplication inside the overlap (about 20 bytes
    each). A larger burst gives up watching for late commits among its oldest records."""
    cdc_transport: Literal["cometd", "sandbox"] = "cometd"
    """CometD long polling at /cometd/<version> (the public API), or the sandbox's long-poll endpoint."""
    cdc_wait_s: float = Field(default=20.0, ge=0, le=110)
    """How long one CDC read waits for events when none are queued."""
    cdc_initial_replay: Literal[-1, -2] = -1
    """Where CDC starts without a cursor: -1 new events only, -2 every retained event (72 hours)."""


class PacingSettings(_Section):
    """When to slow down, and when to stop, by the org's own 24-hour API usage (`Sforce-Limit-Info`)."""

    slow_down_at: float = Field(default=0.8, gt=0, le=1)
    """Share of the org's allocation used from which each call is delayed, more the closer it gets to the stop."""
    stop_at: float = Field(default=0.95, gt=0, le=1)
    """Share of the org's allocation from which Crossdock makes no calls, leaving the rest to people."""
    max_delay_s: float = Field(default=5.0, ge=0, le=600)
    limit_retry_s: float = Field(default=300.0, gt=0)
    """Retry hint when Salesforce answers REQUEST_LIMIT_EXCEEDED without a Retry-After header."""

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.stop_at < self.slow_down_at:
            raise ValueError(f"stop_at ({self.stop_at}) is below slow_down_at ({self.slow_down_at}); raise stop_at")
        return self


class SalesforceSettings(_Section):
    """One Salesforce org as a Crossdock system."""

    login_url: str = "https://login.salesforce.com"
    """Where tokens are requested; client credentials need the org's My Domain URL here."""
    instance_url: str | None = None
    """The org's REST host; default: the `instance_url` the token response names."""
    api_version: str = Field(default="62.0", pattern=r"^\d{2,3}\.\d$")
    auth: AuthSettings
    daily_call_budget: int | None = Field(default=None, ge=1)
    """Calls Crossdock may make in any 24 hours; refused beyond (a transient error with a retry hint)."""
    budget_share: float | None = Field(default=None, gt=0, le=1)
    """Or: this share of the org's 24-hour allocation, as Salesforce reports it on each response."""
    allow_private_network: bool = False
    """Allow login and instance URLs on private, loopback or link-local addresses (the sandbox); refused otherwise."""
    allowed_hosts: list[str] = Field(default_factory=list)
    external_id_field: str = "Crossdock_Id__c"
    """The External ID field holding the canonical id on every object Crossdock writes."""
    client_name: str = Field(default="crossdock", pattern=r"^[A-Za-z0-9_]{1,40}$")
    """Sent as `Sforce-Call-Options: client=...`; Change Data Capture shows it in `changeOrigin` (echo check)."""
    objects: dict[str, str] = Field(default_factory=dict)
    """Canonical entity → sObject, added to the defaults (customer Account, contact Contact, item Product2, ...)."""
    fields: dict[str, list[str]] = Field(default_factory=dict)
    """Extra fields to read per entity, beyond those the inbound mapping names (for `expr:` rules)."""
    mapping_dir: Path | None = None
    """A folder of `<entity>.<direction>.yaml` specs replacing the packaged ones (its inbound specs decide the
    fields read)."""
    capture: CaptureSettings = CaptureSettings()
    pacing: PacingSettings = PacingSettings()
    connect_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=120.0, gt=0)
    """Long enough for a 200-record composite call on a busy org."""

    @field_validator("login_url", "instance_url")
    @classmethod
    def _https(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError(f"{url!r} is not a URL; write https://<my-domain>.my.salesforce.com")
        return url.rstrip("/") if url is not None else None

    @model_validator(mode="after")
    def _one_budget(self) -> Self:
        if self.daily_call_budget is not None and self.budget_share is not None:
            raise ValueError("give daily_call_budget or budget_share, not both")
        return self

    def sobject(self, entity: str) -> str | None:
        """The sObject an entity is stored in, or None if none is configured."""
        return self.objects.get(entity) or DEFAULT_OBJECTS.get(entity)
