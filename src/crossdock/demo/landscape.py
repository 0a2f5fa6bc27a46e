"""A distributor's landscape on this machine: a real Tryton ERP and the Salesforce sandbox, wired by crossdock.yaml.

The demo, the end-to-end tests and the `crm-sync` benchmark all start the same landscape, so what the demo shows
is what the tests prove.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

# The default: sales owns the relationship, finance owns the money.
DEFAULT_OWNERSHIP: dict[str, dict[str, str]] = {
    "customer": {
        "name": "crm",
        "contact_points": "crm",
        "sales_rep": "crm",
        "channel": "crm",
        "payment_terms": "erp",
        "credit_limit": "erp",
        "credit_status": "erp",
        "identifiers": "erp",
    },
}

GOVERNANCE = {
    "technical_owner": "Integration team",
    "sla_target": "15m",
    "criticality": "high",
    "escalation_path": ["integration-oncall@distributor.example"],
}


def flow(source: str, target: str, entity: str, business_owner: str, *, sensitive: bool = False) -> dict[str, Any]:
    """A flow for crossdock.yaml, named `<entity>-<source>-to-<target>`, with its governance (it passes lint);
    replaying a `sensitive` flow's dead letters needs a second person's approval in the console."""
    governance: dict[str, Any] = {"business_owner": business_owner, "system_of_record": source, **GOVERNANCE}
    if sensitive:
        governance["sensitive"] = True
    return {
        "name": f"{entity.replace('_', '-')}-{source}-to-{target}",
        "source": {"system": source, "entity": entity},
        "targets": [{"system": target, "entity": entity}],
        "governance": governance,
    }


def default_flows() -> list[dict[str, Any]]:
    """Customer master both ways; item master and list prices ERP → CRM."""
    return [
        flow("crm", "erp", "customer", "Sales Operations"),
        flow("erp", "crm", "customer", "Finance", sensitive=True),  # payment terms and credit: four eyes on replays
        flow("erp", "crm", "item", "Product Management"),
        flow("erp", "crm", "price_list", "Pricing"),
    ]


def _secret_file(path: Path, value: str) -> str:
    """Write a secret where only this user can read it; crossdock.yaml refers to it, never holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return f"file:{path}"


@dataclass
class Landscape:
    """Tryton and the Salesforce sandbox under `workdir`, plus a crossdock.yaml that connects them."""

    workdir: Path
    event_log: str = "sqlite"
    flows: list[dict[str, Any]] = field(default_factory=default_flows)
    ownership: dict[str, dict[str, str]] = field(default_factory=lambda: dict(DEFAULT_OWNERSHIP))
    extra_settings: dict[str, Any] = field(default_factory=dict)
    salesforce_daily_limit: int = 1_000_000

    def __post_init__(self) -> None:
        from crossdock.sandbox.salesforce.runner import SalesforceSandbox
        from crossdock.sandbox.tryton import TrytonSandbox

        self.tryton = TrytonSandbox(self.workdir / "tryton")
        self.salesforce = SalesforceSandbox(
            self.workdir / "salesforce" / "org.db", mode="subprocess", daily_api_limit=self.salesforce_daily_limit
        )
        self.config_path = self.workdir / "crossdock.yaml"

    def start(self) -> Path:
        """Start both systems and write the config; return its path."""
        (self.workdir / "salesforce").mkdir(parents=True, exist_ok=True)
        endpoint = self.tryton.start()
        crm_url = self.salesforce.start()
        settings = {
            "database_url": f"sqlite:///{self.workdir / 'crossdock.db'}",
            "event_log": self.event_log,
            "event_log_url": str(self.workdir / "events.db"),
            "partitions": 8,
            "lease_ttl_s": 5,
            "systems": {
                "erp": endpoint.options(),
                "crm": {
                    "type": "salesforce",
                    "login_url": crm_url,
                    "api_version": "62.0",
                    "auth": {
                        "grant": "client_credentials",
                        "client_id": self.salesforce.client_id,
                        "client_secret": _secret_file(
                            self.workdir / "secrets" / "salesforce_client_secret", self.salesforce.client_secret
                        ),
                    },
                    "allow_private_network": True,  # the sandbox listens on loopback
                },
            },
            "flows": self.flows,
            "ownership": self.ownership,
            **self.extra_settings,
        }
        self.config_path.write_text(yaml.safe_dump(settings, sort_keys=False))
        return self.config_path

    def stop(self) -> None:
        """Stop both systems; their data stays under workdir."""
        self.salesforce.stop()
        self.tryton.stop()

    def __enter__(self) -> Landscape:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
