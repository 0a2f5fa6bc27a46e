"""schemathesis against the API's own /openapi.json: generated requests (valid and invalid) to every operation,
as a partner and as an internal client. No answer may be a server error or break the documented schema, status
codes or content types."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from crossdock.api.app import create_app
from crossdock.api.clients import create_client
from crossdock.api.security.scopes import Scope
from crossdock.bootstrap import bootstrap
from crossdock.ports.api import ClientKind
from crossdock.ports.store import CrossReference
from tests.integration.api.conftest import PARTNER_SCOPES, api_settings
from tests.integration.api.fake_erp import PARTIES, CatalogueDesk

CASES_PER_OPERATION = 40
CHECKS = [
    checks.not_a_server_error,
    openapi_checks.response_schema_conformance,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
]


@pytest.fixture(scope="module")
def wired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path: Path = tmp_path_factory.mktemp("schemathesis")
    # Generous plans: schemathesis sends hundreds of requests a second and 429 is not what is under test here.
    runtime = asyncio.run(
        bootstrap(api_settings(tmp_path, rate_plans={"partner": {"requests_per_second": 1e6, "burst": 10**6}}))
    )
    context = runtime.api_context()
    now = context.clock()
    create_client(
        runtime.store,
        name="acme",
        kind=ClientKind.PARTNER,
        scopes=PARTNER_SCOPES,
        now=now,
        partner_id="cus-acme",
        client_id="acme-portal",
    )
    create_client(
        runtime.store,
        name="shop",
        kind=ClientKind.INTERNAL,
        now=now,
        client_id="webshop",
        scopes=[
            *PARTNER_SCOPES,
            Scope.CUSTOMERS_WRITE,
            Scope.CUSTOMERS_READ,
            Scope.CREDIT_READ,
            Scope.AVAILABILITY_READ,
            Scope.PRICES_READ,
            Scope.SYSTEMS_READ,
        ],
    )
    tokens = {
        "partner": context.issuer.issue(
            client_id="acme-portal", kind=ClientKind.PARTNER, scopes=PARTNER_SCOPES, partner_id="cus-acme"
        ).access_token,
        "internal": context.issuer.issue(
            client_id="webshop",
            kind=ClientKind.INTERNAL,
            scopes=[
                *PARTNER_SCOPES,
                Scope.CUSTOMERS_WRITE,
                Scope.CREDIT_READ,
                Scope.AVAILABILITY_READ,
                Scope.PRICES_READ,
                Scope.SYSTEMS_READ,
            ],
        ).access_token,
    }
    # An ERP behind the process APIs (credit, prices, availability), its customers cross-referenced.
    context.order_desk = CatalogueDesk()
    context.erp_system = "erp"
    with runtime.store.unit_of_work() as uow:
        for canonical_id, party in PARTIES.items():
            uow.xrefs.link(CrossReference("customer", canonical_id, "erp", party))
        uow.commit()
    app = create_app(context)
    yield {"schema": schemathesis.openapi.from_asgi("/openapi.json", app), "tokens": tokens}
    context.close()
    asyncio.run(runtime.close())


def _check_every_operation(schema: Any, token: str) -> list[str]:
    """Run the generated cases of every operation; return what failed, one line per operation."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=CASES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
        )
        def run(case: Any) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}, checks=CHECKS
            )

        try:
            run()
        except Exception as failure:  # schemathesis raises a group of check failures; report each operation's
            failures.append(f"{operation.verbose_name}: {str(failure)[:2000]}")
    return failures


def test_as_a_partner_no_server_errors_and_no_schema_breaks(wired: dict[str, Any]) -> None:
    assert _check_every_operation(wired["schema"], wired["tokens"]["partner"]) == []


def test_as_an_internal_client_no_server_errors_and_no_schema_breaks(wired: dict[str, Any]) -> None:
    assert _check_every_operation(wired["schema"], wired["tokens"]["internal"]) == []
