"""A Salesforce sandbox org: a FastAPI app following Salesforce's public REST API, persisted in one SQLite file.

Crossdock cannot reach Salesforce from its tests, benchmarks or demo, so its Salesforce connector talks to this
instead: OAuth (client credentials, JWT bearer), SOQL queries with paging, sObject CRUD and upsert by external id,
sObject Collections, composite requests, replication (updated/deleted), a change event feed, the daily API limit,
and injectable faults. `create_app` builds the app; `SalesforceSandbox` serves it on a loopback port.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crossdock.sandbox.salesforce.app import create_app
    from crossdock.sandbox.salesforce.runner import SalesforceSandbox

__all__ = ["SalesforceSandbox", "create_app"]


def __getattr__(name: str) -> Any:
    # FastAPI and uvicorn load only when the sandbox is used, so importing the package stays cheap.
    if name == "create_app":
        from crossdock.sandbox.salesforce.app import create_app

        return create_app
    if name == "SalesforceSandbox":
        from crossdock.sandbox.salesforce.runner import SalesforceSandbox

        return SalesforceSandbox
    raise AttributeError(name)
