"""Settings of a Tryton system, as written under `systems.<name>` in crossdock.yaml (secrets by reference only)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crossdock.config import SecretRef


class TrytonSettings(BaseModel):
    """Where the Tryton server is, who the connector logs in as, and how it reads and writes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    """The server's root URL, e.g. `http://127.0.0.1:8000` (the database is added to it)."""
    database: str = Field(min_length=1)
    username: str = Field(default="admin", min_length=1)
    password: SecretRef
    """`env:NAME` or `file:/path`; read at each login, so a rotated password is picked up."""
    language: str = "en"
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=60.0, gt=0)
    max_connections: int = Field(default=10, ge=1, le=200)
    overlap_s: float = Field(default=60.0, ge=0)
    """How far behind its position each poll looks again, for transactions that committed late."""
    acknowledge_warnings: bool = True
    """Acknowledge a UserWarning (create its `res.user.warning`) and retry once; else fail as data quality."""
    id_prefix: str = Field(default="crossdock:", min_length=1)
    allow_private_network: bool = False
    """Allow a URL on a private, loopback or link-local address (an on-premises ERP); refused otherwise."""
    allowed_hosts: list[str] = Field(default_factory=list)
    """Marks the party identifier that carries Crossdock's canonical id."""
    item_account_category: str | None = None
    """The accounting product category of items that name no tax class (read back as no tax class)."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an HTTP URL; write http://host:8000")
        return url.rstrip("/")
