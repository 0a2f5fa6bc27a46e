"""One real Tryton per test session, started from the cached database, and connectors and samples for it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from crossdock.config import SecretRef
from crossdock.connectors.tryton.config import TrytonSettings
from crossdock.connectors.tryton.connector import TrytonConnector, mapping_catalog
from crossdock.mapping.catalog import MappingCatalog
from crossdock.sandbox.tryton import TrytonEndpoint, TrytonSandbox, TrytonUnavailableError

SYSTEM = "erp"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker here, so the suite needs nothing in pyproject."""
    config.addinivalue_line("markers", "tryton: needs a real Tryton (trytond from the crossdock[tryton-test] extra)")


@pytest.fixture(scope="session")
def tryton_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonSandbox]:
    """A running Tryton for the whole session; skipped with the reason when trytond cannot run here."""
    sandbox = TrytonSandbox(tmp_path_factory.mktemp("tryton"))
    try:
        sandbox.start()
    except TrytonUnavailableError as exc:
        pytest.skip(f"Tryton cannot run here: {exc}")
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="session")
def tryton(tryton_sandbox: TrytonSandbox) -> TrytonEndpoint:
    """How to reach the session's Tryton."""
    endpoint = tryton_sandbox.endpoint
    assert endpoint is not None
    return endpoint


@pytest.fixture(scope="session")
def make_settings(tryton: TrytonEndpoint) -> Callable[..., TrytonSettings]:
    """Settings for the session's Tryton, with any field overridden."""

    def make(**overrides: Any) -> TrytonSettings:
        fields: dict[str, Any] = {
            "url": tryton.url,
            "database": tryton.database,
            "username": tryton.username,
            "password": SecretRef(f"file:{tryton.password_file}"),
            "item_account_category": "Goods",
            **overrides,
        }
        return TrytonSettings(**fields)

    return make


@pytest.fixture
async def connector(make_settings: Callable[..., TrytonSettings]) -> AsyncIterator[TrytonConnector]:
    """A connector on the session's Tryton, closed after the test."""
    connector = TrytonConnector(SYSTEM, make_settings())
    yield connector
    await connector.close()


@pytest.fixture(scope="session")
def catalog() -> MappingCatalog:
    """The packaged Tryton mappings under the system name `erp`."""
    return mapping_catalog(SYSTEM)


@pytest.fixture
def unique() -> str:
    """A short suffix that keeps one test's records apart from every other test's in the shared database."""
    return uuid.uuid4().hex[:8].upper()


def customer(unique: str, **changes: Any) -> dict[str, Any]:
    """A canonical customer (as `model_dump(mode="json")` gives it) with everything Tryton can hold."""
    document: dict[str, Any] = {
        "id": f"cus_{unique}",
        "number": f"C-{unique}",
        "name": f"Acme Supply {unique}",
        "roles": ["bill_to", "sold_to"],
        "status": "active",
        "currency": "USD",
        "payment_terms": {"code": "2-10-N30", "net_days": 30},
        "identifiers": [{"scheme": "ein", "value": "12-3456789"}, {"scheme": "duns", "value": "123456789"}],
        "addresses": [
            {
                "kind": "bill_to",
                "country": "US",
                "lines": ["1 Peachtree St", "Suite 200"],
                "city": "Atlanta",
                "region": "GA",
                "postal_code": "30303",
            },
            {
                "kind": "ship_to",
                "country": "US",
                "lines": ["9 Dock Rd"],
                "city": "Macon",
                "region": "GA",
                "postal_code": "31201",
                "name": "Acme DC East",
                "attention": "Receiving",
            },
        ],
        "contact_points": [
            {"channel": "email", "value": f"ap-{unique.lower()}@acme.example", "label": "accounts payable"},
            {"channel": "phone", "value": "+1 404 555 0100"},
        ],
    }
    document.update(changes)
    return document


def item(unique: str, **changes: Any) -> dict[str, Any]:
    """A canonical item with everything Tryton can hold."""
    document: dict[str, Any] = {
        "id": f"itm_{unique}",
        "sku": f"FB-{unique}",
        "description": f"Flange bolt M8x40 {unique}",
        "long_description": "Zinc plated, grade 8.8",
        "status": "active",
        "category": "Fasteners",
        "base_uom": "EA",
        "manufacturer": "Acme Fasteners",
        "manufacturer_part_number": f"M8-40-{unique}",
    }
    document.update(changes)
    return document
