"""One order submitted through the API is one trace: the API request, the event it logged, the worker's intake, the
process and its steps, the calls to the real Tryton and the status update in the CRM (the Salesforce sandbox).

The spans are caught by an in-memory exporter handed to the composition root; the store's trace keeper gets the
same trace for the console.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from crossdock.api.app import create_app
from crossdock.api.clients import create_client
from crossdock.api.order_submission import name_uuid
from crossdock.api.security.scopes import Scope
from crossdock.bootstrap import Runtime
from crossdock.demo.actors import CrmUser
from crossdock.demo.landscape import Landscape
from crossdock.demo.orders import order_settings
from crossdock.ports.api import ClientKind
from crossdock.ports.store import CrossReference, ProcessState
from crossdock.sandbox import tryton_stock
from tests.integration.api.conftest import order
from tests.support.landscape import crossdock_on, running_landscape

pytestmark = pytest.mark.tryton

CLIENT_ID = "webshop-acme"
CUSTOMER = "cus-trace-acme"
REFERENCE = "PO-TRACE-1"
NUMBER = f"API-{CLIENT_ID}-{REFERENCE}"
SKU = "SKU-TRACE-1"
SETTLED = {ProcessState.COMPLETED, ProcessState.COMPENSATED, ProcessState.FAILED, ProcessState.CANCELLED}


@dataclass
class World:
    """The landscape, Crossdock wired to it, the API in-process, and the spans."""

    landscape: Landscape
    runtime: Runtime
    http: httpx.AsyncClient
    spans: InMemorySpanExporter


@pytest.fixture
def landscape(tmp_path: Path) -> Iterator[Landscape]:
    """Tryton and the Salesforce sandbox, with order processing configured and no master-data flows."""
    with running_landscape(tmp_path, flows=[], extra_settings=order_settings()) as world:
        yield world


@pytest.fixture
async def world(landscape: Landscape) -> AsyncIterator[World]:
    spans = InMemorySpanExporter()
    async with crossdock_on(landscape.config_path, span_processors=[SimpleSpanProcessor(spans)]) as runtime:
        context = runtime.api_context()
        transport = httpx.ASGITransport(app=create_app(context))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://crossdock.test") as http:
                yield World(landscape, runtime, http, spans)
        finally:
            context.close()


async def prepare_customer_item_and_crm_order(world: World) -> None:
    """What master data and the CRM already hold: the customer in Tryton (cross-referenced), a stocked item, and
    the order keyed into the CRM as well, so that quote-to-order tells the CRM how it went."""
    erp = world.runtime.unguarded("erp").client  # type: ignore[attr-defined]
    (country,) = await erp.search("country.country", [("code", "=", "US")], limit=1)
    address = {"street": "100 Distribution Dr", "city": "Columbus", "postal_code": "43215", "country": country}
    (party,) = await erp.create("party.party", [{"name": "Acme Columbus", "addresses": [["create", [address]]]}])
    await tryton_stock.create_item(erp, SKU, "Hex Bolt M8 (traced)", "4.25")
    await tryton_stock.receive_stock(erp, {SKU: 500})

    crm = CrmUser(world.landscape)
    try:
        (account,) = await crm.create_many("Account", [{"Name": "Acme Columbus", "AccountNumber": "C-TRACE"}])
        (pricebook,) = await crm.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")
        product = await crm.create("Product2", {"Name": "Hex Bolt M8", "ProductCode": SKU, "IsActive": True})
        entry = await crm.create(
            "PricebookEntry",
            {"Pricebook2Id": pricebook["Id"], "Product2Id": product, "UnitPrice": 4.25, "IsActive": True},
        )
        crm_order = await crm.create(
            "Order",
            {
                "AccountId": account,
                "Pricebook2Id": pricebook["Id"],
                "EffectiveDate": datetime.now(UTC).date().isoformat(),
                "Status": "Draft",  # not activated: the CRM's own order capture leaves it alone
                "PoNumber": REFERENCE,
            },
        )
        await crm.create(
            "OrderItem", {"OrderId": crm_order, "PricebookEntryId": entry, "Quantity": 12, "UnitPrice": 4.25}
        )
    finally:
        await crm.close()

    now = datetime.now(UTC)
    with world.runtime.store.unit_of_work() as uow:
        uow.xrefs.link(CrossReference("customer", CUSTOMER, "erp", str(party), None, now))
        uow.xrefs.link(CrossReference("order", name_uuid(NUMBER), "crm", crm_order, None, now))
        uow.commit()


async def submit_order(world: World) -> httpx.Response:
    _, secret = create_client(
        world.runtime.store,
        name="Acme web shop",
        kind=ClientKind.PARTNER,
        scopes=[Scope.ORDERS_WRITE, Scope.ORDERS_READ],
        now=datetime.now(UTC),
        partner_id=CUSTOMER,
        client_id=CLIENT_ID,
    )
    token = await world.http.post(
        "/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, secret)
    )
    assert token.status_code == 200, token.text
    return await world.http.post(
        "/v1/orders",
        json=order(REFERENCE, lines=[{"sku": SKU, "quantity": "12", "unit_price": "4.25"}]),
        headers={"Authorization": f"Bearer {token.json()['access_token']}", "Idempotency-Key": "trace-1"},
    )


async def run_until_settled(world: World, timeout_s: float = 240.0) -> ProcessState:
    worker = world.runtime.worker("trace-test", poll_interval_s=0.1)
    deadline = time.monotonic() + timeout_s
    while True:
        await worker.run_once()
        with world.runtime.store.unit_of_work(read_only=True) as uow:
            instance = uow.processes.find("quote_to_order", NUMBER)
        if instance is not None and (instance.state in SETTLED or instance.state is ProcessState.SLEEPING):
            return instance.state
        assert time.monotonic() < deadline, f"the order's process did not settle: {instance}"
        await asyncio.sleep(0.2)


def hex_trace(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


async def test_one_order_through_the_api_is_one_trace_from_the_request_to_the_erp_and_the_crm(world: World) -> None:
    await prepare_customer_item_and_crm_order(world)

    response = await submit_order(world)
    assert response.status_code == 202, response.text
    state = await run_until_settled(world)
    assert world.runtime.trace_sink is not None
    world.runtime.trace_sink.flush()

    spans = world.spans.get_finished_spans()
    (request,) = [s for s in spans if s.kind is SpanKind.SERVER and s.name == "POST /v1/orders"]
    trace_id = hex_trace(request)
    in_trace = [s for s in spans if hex_trace(s) == trace_id]
    by_id = {s.context.span_id: s for s in in_trace if s.context is not None}

    def parent_of(span: ReadableSpan) -> ReadableSpan | None:
        return by_id.get(span.parent.span_id) if span.parent is not None else None

    # The API answered within the trace, and the event it logged carries the trace on.
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == 202
    assert request.attributes["crossdock.business_key"] == NUMBER
    (logged,) = [e for e in await world.runtime.log.read(None, 0, 100) if e.event.type.endswith("order.submitted.v1")]
    assert logged.event.traceparent is not None
    assert logged.event.traceparent.split("-")[1] == trace_id

    # The worker took the event in the same trace, and the process ran under it.
    (intake,) = [s for s in in_trace if s.kind is SpanKind.CONSUMER]
    assert parent_of(intake) is request
    runs = [s for s in in_trace if s.name == "process quote_to_order"]
    assert runs
    assert all(parent_of(run) is intake for run in runs)
    steps = [s for s in in_trace if s.name.startswith("step ")]
    assert {"step customer_standing", "step create_sale"} <= {s.name for s in steps}

    # Tryton's JSON-RPC calls and the CRM's status update are spans of that trace, under the process's steps.
    tryton = [s for s in in_trace if s.kind is SpanKind.CLIENT and s.name.startswith("tryton ")]
    assert "tryton model.sale.sale.create" in {s.name for s in tryton}
    crm_updates = [s for s in in_trace if s.kind is SpanKind.CLIENT and s.name == "salesforce PATCH composite/sobjects"]
    assert crm_updates, sorted({s.name for s in in_trace})
    for call in [*tryton, *crm_updates]:
        step = parent_of(call)
        while step is not None and not step.name.startswith("step "):
            step = parent_of(step)
        assert step is not None, f"{call.name} is not under a process step"

    # One order, one trace: nothing the order caused started a trace of its own.
    order_spans = [s for s in spans if (s.attributes or {}).get("crossdock.business_key") == NUMBER]
    assert {hex_trace(s) for s in order_spans} == {trace_id}
    assert state is ProcessState.COMPLETED, state

    # The console finds the same trace in the store by the order number.
    (kept,) = world.runtime.traces.find(NUMBER)
    assert kept.trace_id == trace_id
    assert kept.root_name == "POST /v1/orders"
    assert kept.spans == len(in_trace)
