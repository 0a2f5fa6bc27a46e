"""System APIs through the API: connected systems with their circuits and capabilities, and cross-references in
both directions, for internal callers only."""

from __future__ import annotations

from collections.abc import Sequence

from crossdock.ports.connector import ChangeBatch, UpsertRequest, UpsertResult
from crossdock.ports.orders import OrderStatusReport
from crossdock.ports.store import CrossReference
from crossdock.sync.resilience import CircuitBreaker, GuardedConnector
from tests.integration.api.conftest import Api
from tests.integration.api.fake_erp import CatalogueDesk


class ShelfConnector:
    """A connector that does nothing, with an order desk and the entities it knows."""

    system = "erp"
    entities = ["item", "customer"]

    async def read_changes(self, entity: str, cursor: str | None, limit: int) -> ChangeBatch:
        return ChangeBatch([], cursor)

    async def upsert(self, entity: str, requests: Sequence[UpsertRequest]) -> list[UpsertResult]:
        return []

    async def close(self) -> None:
        return None

    def order_desk(self) -> CatalogueDesk:
        return CatalogueDesk()


class BoardConnector(ShelfConnector):
    """A CRM-like connector: stamps canonical ids and shows order status, no order desk."""

    system = "crm"
    order_desk = None  # type: ignore[assignment]

    async def stamp_canonical_ids(self, entity: str, links: Sequence[tuple[str, str]]) -> None:
        return None

    async def report_order_status(self, report: OrderStatusReport) -> None:
        return None

    async def read_order_status(self, order_local_id: str) -> OrderStatusReport:
        raise NotImplementedError


def wire_systems(api: Api) -> CircuitBreaker:
    breaker = CircuitBreaker("erp", failure_threshold=2)
    api.context.connectors = {
        "erp": GuardedConnector(ShelfConnector(), breaker),
        "crm": GuardedConnector(BoardConnector(), CircuitBreaker("crm")),
    }
    api.context.system_types = {"erp": "tryton", "crm": "salesforce"}
    with api.runtime.store.unit_of_work() as uow:
        uow.xrefs.link(CrossReference("customer", "cus-acme", "erp", "17"))
        uow.xrefs.link(CrossReference("customer", "cus-acme", "crm", "001A000001"))
        uow.xrefs.link(CrossReference("customer", "cus-zeta", "crm", "001A000002"))
        uow.commit()
    return breaker


async def test_systems_show_type_capabilities_and_circuit(api: Api) -> None:
    breaker = wire_systems(api)
    headers = await api.as_("webshop")
    listed = (await api.http.get("/v1/systems", headers=headers)).json()["items"]
    assert [(s["name"], s["type"], s["circuit"]["state"]) for s in listed] == [
        ("crm", "salesforce", "closed"),
        ("erp", "tryton", "closed"),
    ]
    crm, erp = listed
    assert crm["capabilities"] == ["read_changes", "upsert", "stamp_canonical_ids", "order_status_board"]
    assert (erp["capabilities"], erp["entities"]) == (["read_changes", "upsert", "order_desk"], ["customer", "item"])
    for _ in range(2):
        breaker.failed()
    erp = (await api.http.get("/v1/systems", headers=headers)).json()["items"][1]
    assert (erp["circuit"]["state"], erp["circuit"]["consecutive_failures"]) == ("open", 2)
    assert erp["circuit"]["retry_in_s"] > 0
    assert breaker.state.value == "open"  # reading it took no probe


async def test_the_erp_circuit_open_answers_503_at_once_without_calling_the_erp(api: Api) -> None:
    breaker = wire_systems(api)
    desk = CatalogueDesk()
    api.context.order_desk, api.context.erp_system = desk, "erp"
    breaker.failed()
    breaker.failed()
    response = await api.http.get("/v1/prices", params={"customer_id": "cus-acme", "sku": "SKU-1"},
                                  headers=await api.as_("webshop"))  # fmt: skip
    assert response.status_code == 503
    assert "circuit is open" in response.json()["detail"]
    assert desk.calls == []


async def test_cross_references_in_both_directions(api: Api) -> None:
    wire_systems(api)
    headers = await api.as_("webshop")
    xrefs = await api.http.get("/v1/systems/erp/xrefs/customer/cus-acme", headers=headers)
    assert xrefs.status_code == 200, xrefs.text
    body = xrefs.json()
    assert (body["system"], body["local_id"]) == ("erp", "17")
    assert [(r["system"], r["local_id"]) for r in body["references"]] == [("crm", "001A000001"), ("erp", "17")]
    record = (await api.http.get("/v1/systems/crm/records/customer/001A000002", headers=headers)).json()
    assert (record["canonical_id"], record["entity"]) == ("cus-zeta", "customer")
    for path in (
        "/v1/systems/erp/xrefs/customer/cus-zeta",  # no record in the ERP yet
        "/v1/systems/wms/xrefs/customer/cus-acme",  # no such system
        "/v1/systems/crm/records/customer/001A999999",
        "/v1/systems/crm/records/item/001A000001",  # right id, wrong entity
    ):
        missing = await api.http.get(path, headers=headers)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"] == "application/problem+json"


async def test_partners_cannot_reach_the_system_apis(api: Api) -> None:
    wire_systems(api)
    headers = await api.as_("acme-portal")
    for path in ("/v1/systems", "/v1/systems/erp/xrefs/customer/cus-acme", "/v1/systems/erp/records/customer/17"):
        response = await api.http.get(path, headers=headers)
        assert response.status_code == 403, path


async def test_callers_asking_a_dead_erp_open_its_circuit_and_an_answer_closes_it(api: Api) -> None:
    """Process-API calls count toward the ERP's circuit as the sync flows' calls do."""
    now = [1_000.0]
    breaker = CircuitBreaker("erp", failure_threshold=2, clock=lambda: now[0])
    wire_systems(api)
    api.context.connectors["erp"] = GuardedConnector(ShelfConnector(), breaker)
    desk = CatalogueDesk()
    api.context.order_desk, api.context.erp_system = desk, "erp"
    headers = await api.as_("webshop")
    params = {"customer_id": "cus-acme", "sku": "SKU-1"}

    desk.down = True
    first = await api.http.get("/v1/prices", params=params, headers=headers)
    assert first.status_code == 503
    assert "cannot reach Tryton" in first.json()["detail"]
    for _ in range(2):
        if breaker.state.value == "open":
            break
        await api.http.get("/v1/prices", params=params, headers=headers)
    assert breaker.state.value == "open", "two failed ERP calls open the circuit"
    calls = len(desk.calls)
    refused = await api.http.get("/v1/prices", params=params, headers=headers)
    assert refused.status_code == 503
    assert "circuit is open" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    assert len(desk.calls) == calls, "an open circuit answers without calling the ERP"

    desk.down = False
    now[0] += breaker.cooldown_s + 0.1  # the cooldown passed: the next caller's call is the probe
    answered = await api.http.get("/v1/prices", params=params, headers=headers)
    assert answered.status_code == 200, answered.text
    assert breaker.state.value == "closed"
    assert breaker.consecutive_failures == 0
