"""An ERP order desk in memory for the process API tests (credit, availability, prices), wired into the `api`
fixture's context, with the customers' cross-references written into the real store."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

from crossdock.api.clients import create_client
from crossdock.api.security.scopes import Scope
from crossdock.model.common import Sourcing
from crossdock.ports.api import ClientKind
from crossdock.ports.connector import ConnectorError, ErrorKind
from crossdock.ports.orders import (
    CustomerStanding,
    DispatchResult,
    ErpInvoice,
    ErpPurchase,
    ErpSale,
    ErpShipment,
    ItemSupply,
    PriceQuery,
    SaleDraft,
    ShipmentLine,
)
from crossdock.ports.store import CrossReference
from tests.integration.api.conftest import Api

# canonical customer id -> the ERP's party id
PARTIES = {"cus-acme": "17", "cus-zeta": "23"}
BUYER_SCOPES = [Scope.CREDIT_READ, Scope.PRICES_READ, Scope.AVAILABILITY_READ]


class CatalogueDesk:
    """Standing, contract prices and ATP from dictionaries; `down` makes every call fail like an unreachable ERP."""

    system = "erp"

    def __init__(self) -> None:
        self.standings = {
            "17": CustomerStanding("17", "Acme Supply", True, False, "USD", Decimal(5000), Decimal(4200)),
            "23": CustomerStanding("23", "Zeta Foods", True, True, "USD", Decimal(900), Decimal(0)),
        }
        self.prices = {("17", "SKU-1"): Decimal("9.50"), ("23", "SKU-1"): Decimal("11.00")}
        self.supply = {
            "SKU-1": ItemSupply("SKU-1", "101", Sourcing.STOCKED, Decimal(40), "u", supplier_id="77"),
            "SKU-2": ItemSupply("SKU-2", "102", Sourcing.DROP_SHIP, Decimal(0), "u", "78", lead_time_days=6),
        }
        self.down = False
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.gate: asyncio.Event | None = None  # when set, item_supply waits for it (to overlap requests)

    def _answer(self, operation: str, *args: str) -> None:
        self.calls.append((operation, args))
        if self.down:
            raise ConnectorError(ErrorKind.TRANSIENT, "erp: cannot reach Tryton at http://erp:8000 (ConnectError)")

    async def customer_standing(self, customer_local_id: str) -> CustomerStanding:
        self._answer("customer_standing", customer_local_id)
        return self.standings[customer_local_id]

    async def contract_prices(self, customer_local_id: str, queries: Sequence[PriceQuery]) -> dict[str, Decimal]:
        self._answer("contract_prices", customer_local_id, *(q.sku for q in queries))
        return {
            q.sku: self.prices[customer_local_id, q.sku] for q in queries if (customer_local_id, q.sku) in self.prices
        }

    async def item_supply(self, skus: Sequence[str]) -> dict[str, ItemSupply]:
        self._answer("item_supply", *skus)
        if self.gate is not None:
            await self.gate.wait()
        return {sku: self.supply[sku] for sku in skus if sku in self.supply}

    async def find_sale(self, reference: str) -> ErpSale | None:
        raise NotImplementedError

    async def create_sale(self, draft: SaleDraft) -> ErpSale:
        raise NotImplementedError

    async def confirm_sale(self, sale_id: str) -> ErpSale:
        raise NotImplementedError

    async def read_sale(self, sale_id: str) -> ErpSale:
        raise NotImplementedError

    async def dispatch(self, sale_id: str, *, ship_partial: bool) -> DispatchResult:
        raise NotImplementedError

    async def order_drop_ship(self, sale_id: str) -> list[ErpPurchase]:
        raise NotImplementedError

    async def complete_drop_shipment(self, sale_id: str, shipped: Sequence[ShipmentLine]) -> ErpShipment:
        raise NotImplementedError

    async def invoice(self, sale_id: str) -> list[ErpInvoice]:
        raise NotImplementedError

    async def cancel_sale(self, sale_id: str) -> ErpSale:
        raise NotImplementedError


def wire_erp(api: Api) -> CatalogueDesk:
    """Put a desk behind the API, link the customers to their ERP parties, and register buyer clients (a partner
    per customer with the process-API scopes)."""
    desk = CatalogueDesk()
    api.context.order_desk = desk
    api.context.erp_system = "erp"
    with api.runtime.store.unit_of_work() as uow:
        for canonical_id, party in PARTIES.items():
            uow.xrefs.link(CrossReference("customer", canonical_id, "erp", party))
        uow.commit()
    now = api.context.clock()
    for client_id, partner in (("acme-buyer", "cus-acme"), ("zeta-buyer", "cus-zeta")):
        _, api.secrets[client_id] = create_client(
            api.runtime.store,
            name=client_id,
            kind=ClientKind.PARTNER,
            scopes=BUYER_SCOPES,
            now=now,
            partner_id=partner,
            client_id=client_id,
        )
    return desk
