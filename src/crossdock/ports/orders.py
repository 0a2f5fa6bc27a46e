"""The OrderDesk port: what the order processes ask of the ERP that takes sales orders.

Quote-to-order needs more of an ERP than create-or-update: a customer's standing and credit, contract prices,
available-to-promise, a sale it can confirm, ship and invoice, drop-ship purchasing, and a way to undo a sale.
These are business operations, so they get their own port beside `Connector`; a connector that supports orders
implements both. Values crossing it are plain and vendor-neutral: ids are the ERP's own (as strings), SKUs are the
item codes both sides share, quantities and money are Decimals in the sale's unit and currency.

Every operation that changes the ERP is idempotent on its inputs, because a process re-runs a step whose result
was not journaled before a crash: `create_sale` finds the sale it made earlier by `reference`, confirming a
confirmed sale or dispatching a shipped shipment changes nothing and answers the current state.
Failures are `ConnectorError`s classified as for `Connector` (transient, data quality, configuration, outage).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol, runtime_checkable

from crossdock.model.common import Sourcing


class SaleState(enum.StrEnum):
    """The ERP sale's own state, mapped to a neutral vocabulary."""

    DRAFT = "draft"
    QUOTATION = "quotation"
    CONFIRMED = "confirmed"
    PROCESSING = "processing"
    DONE = "done"
    CANCELLED = "cancelled"


class ShipmentState(enum.StrEnum):
    """A shipment's state: waiting for stock, stock reserved (assigned), picked/packed, gone (done), cancelled."""

    WAITING = "waiting"
    ASSIGNED = "assigned"
    PICKED = "picked"
    PACKED = "packed"
    DONE = "done"
    CANCELLED = "cancelled"


class ShipmentKind(enum.StrEnum):
    """Shipped from our warehouse, or straight from the supplier."""

    WAREHOUSE = "warehouse"
    DROP_SHIP = "drop_ship"


@dataclass(frozen=True, slots=True)
class CustomerStanding:
    """Whether the ERP will sell to a customer now, and how much credit is left."""

    local_id: str
    name: str
    active: bool
    credit_hold: bool
    currency: str
    credit_limit: Decimal | None  # None: no limit set
    credit_used: Decimal  # receivables plus confirmed sales not yet invoiced

    @property
    def available_credit(self) -> Decimal | None:
        """What the customer may still owe; None when there is no limit."""
        return None if self.credit_limit is None else self.credit_limit - self.credit_used


@dataclass(frozen=True, slots=True)
class ItemSupply:
    """How an item is supplied and how much can be promised from stock today."""

    sku: str
    local_id: str
    sourcing: Sourcing
    available: Decimal  # available-to-promise at the warehouse: on hand less what open shipments have reserved
    unit: str  # the unit `available` is counted in (the item's default unit symbol)
    supplier_id: str | None = None  # the drop-ship or main supplier's ERP party id
    lead_time_days: int | None = None  # the supplier's lead time, for promise dates on drop-ship and backorders


@dataclass(frozen=True, slots=True)
class PriceQuery:
    """The contract price for a quantity of an item."""

    sku: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class SaleLineDraft:
    """One line of a sale to create."""

    sku: str
    quantity: Decimal
    unit_price: Decimal
    description: str | None = None
    tax_codes: tuple[str, ...] = ()  # names of ERP taxes to apply (from the tax rules)


@dataclass(frozen=True, slots=True)
class AddressDraft:
    """A ship-to or bill-to address as the order gives it; the ERP reuses a matching address of the customer."""

    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    subdivision: str | None = None  # ISO 3166-2 suffix: `TX`, `ON`
    country: str | None = None  # ISO 3166-1 alpha-2


@dataclass(frozen=True, slots=True)
class SaleDraft:
    """A sale to create: `reference` is our order number and the idempotency key in the ERP."""

    reference: str
    customer_local_id: str
    currency: str
    lines: Sequence[SaleLineDraft]
    sale_date: date | None = None
    customer_po: str | None = None
    ship_to: AddressDraft | None = None
    shipping_method: str | None = None
    freight_amount: Decimal | None = None  # added as a freight line when set
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ErpSaleLine:
    """A line of an ERP sale and how far it has got."""

    line_id: str
    sku: str
    quantity: Decimal
    unit_price: Decimal
    sourcing: Sourcing
    shipped_quantity: Decimal = Decimal(0)
    is_freight: bool = False
    cancelled_quantity: Decimal = Decimal(0)
    """What the ERP will no longer deliver: a drop-ship supplier refused it (see `OrderDesk.stop_drop_ship`)."""


@dataclass(frozen=True, slots=True)
class ShipmentLine:
    """A quantity of an item on a shipment."""

    sku: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class ErpShipment:
    """A customer shipment (warehouse) or drop shipment (supplier) of a sale."""

    shipment_id: str
    number: str | None
    kind: ShipmentKind
    state: ShipmentState
    lines: Sequence[ShipmentLine]
    tracking: str | None = None
    shipped_on: date | None = None


@dataclass(frozen=True, slots=True)
class ErpInvoiceLine:
    """A goods or freight line of a customer invoice."""

    sku: str | None  # None for a line with no product
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ErpInvoice:
    """A customer invoice of a sale."""

    invoice_id: str
    number: str | None
    state: str  # draft, validated, posted, paid, cancelled
    total: Decimal
    currency: str
    invoice_date: date | None = None
    tax_amount: Decimal = Decimal(0)
    lines: Sequence[ErpInvoiceLine] = ()
    reference: str | None = None  # on a supplier invoice: the supplier's own invoice number


@dataclass(frozen=True, slots=True)
class ErpPurchase:
    """A purchase order to a supplier, made for drop-ship lines."""

    purchase_id: str
    number: str | None
    state: str  # draft, quotation, confirmed, processing, done, cancelled
    supplier_id: str
    supplier_name: str
    lines: Sequence[ShipmentLine]
    currency: str | None = None
    unit_costs: Mapping[str, Decimal] = field(default_factory=dict)  # per SKU, in `currency`
    invoices: Sequence[ErpInvoice] = ()  # the supplier's invoices, as `read_purchase` answers them


@dataclass(frozen=True, slots=True)
class ErpSale:
    """An ERP sale with its lines, shipments, invoices and drop-ship purchases, as read now."""

    sale_id: str
    number: str | None
    reference: str
    state: SaleState
    currency: str
    total: Decimal
    lines: Sequence[ErpSaleLine]
    shipments: Sequence[ErpShipment] = ()
    invoices: Sequence[ErpInvoice] = ()
    purchases: Sequence[ErpPurchase] = ()


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """What a warehouse dispatch shipped now, and what stays behind waiting for stock."""

    shipped: ErpShipment | None  # None when nothing could be reserved
    backordered: Sequence[ShipmentLine] = field(default_factory=tuple)
    backorder_shipment_id: str | None = None


@runtime_checkable
class OrderDesk(Protocol):
    """The ERP's order operations, as quote-to-order and fulfilment use them."""

    @property
    def system(self) -> str:
        """The configured system name (`erp`)."""
        ...

    async def customer_standing(self, customer_local_id: str) -> CustomerStanding:
        """Active, on credit hold or not, limit and use of credit."""
        ...

    async def contract_prices(self, customer_local_id: str, queries: Sequence[PriceQuery]) -> dict[str, Decimal]:
        """The customer's price per SKU for the quantity (its price list, else the list price)."""
        ...

    async def item_supply(self, skus: Sequence[str]) -> dict[str, ItemSupply]:
        """Sourcing and available-to-promise per SKU; SKUs the ERP does not know are left out."""
        ...

    async def find_sale(self, reference: str) -> ErpSale | None:
        """The live (not cancelled) sale made for `reference`, if any."""
        ...

    async def create_sale(self, draft: SaleDraft) -> ErpSale:
        """Create the sale as a quotation; if one for `draft.reference` exists, answer it instead."""
        ...

    async def confirm_sale(self, sale_id: str) -> ErpSale:
        """Confirm and process the sale: shipments for stocked lines, purchase requests for drop-ship lines."""
        ...

    async def read_sale(self, sale_id: str) -> ErpSale:
        """The sale as it is now."""
        ...

    async def dispatch(self, sale_id: str, *, ship_partial: bool) -> DispatchResult:
        """Reserve, pick, pack and ship the sale's open warehouse shipment.

        With `ship_partial`, what is in stock ships and the rest stays on a backorder shipment; without it,
        nothing ships unless everything can be reserved.
        """
        ...

    async def order_drop_ship(self, sale_id: str) -> list[ErpPurchase]:
        """Turn the sale's drop-ship purchase requests into confirmed purchase orders (one per supplier)."""
        ...

    async def complete_drop_shipment(self, sale_id: str, shipped: Sequence[ShipmentLine]) -> ErpShipment:
        """Record that the supplier shipped these quantities straight to the customer."""
        ...

    async def invoice(self, sale_id: str) -> list[ErpInvoice]:
        """Post the sale's draft invoices (made for what has shipped); answer all its invoices."""
        ...

    async def stop_drop_ship(self, sale_id: str, skus: Sequence[str]) -> ErpSale:
        """Stop what is still open of these drop-shipped SKUs: the supplier will not deliver it.

        The purchase and the sale keep what was delivered and close the rest (the sale line's
        `cancelled_quantity`); other SKUs stay on order. Stopping what is stopped already changes nothing.
        """
        ...

    async def read_purchase(self, purchase_id: str) -> ErpPurchase:
        """A purchase with its lines, unit costs and supplier invoices."""
        ...

    async def post_supplier_invoice(
        self, purchase_id: str, invoice_id: str, *, reference: str, invoice_date: date
    ) -> ErpInvoice:
        """Post the purchase's draft supplier invoice under the supplier's invoice number (`reference`) and date;
        an invoice posted with that reference already is answered as it is."""
        ...

    async def cancel_sale(self, sale_id: str) -> ErpSale:
        """Cancel the sale: release reserved stock, cancel open shipments and draft purchases, then the sale."""
        ...


@dataclass(frozen=True, slots=True)
class OrderLineStatus:
    """How far one CRM order line has got."""

    line_local_id: str  # the CRM's id of the line (OrderItem)
    shipped_quantity: Decimal
    backordered_quantity: Decimal
    cancelled_quantity: Decimal = Decimal(0)  # what will not ship: a supplier refused it


@dataclass(frozen=True, slots=True)
class OrderStatusReport:
    """What the CRM is told about an order: status, ERP number, promise date, shipments and invoices."""

    order_local_id: str  # the CRM's id of the order
    status: str  # a canonical SalesOrderStatus value
    erp_order_number: str | None = None
    promised_date: date | None = None
    reason: str | None = None  # why it was rejected, held or backordered, in words a sales rep understands
    tracking: Sequence[str] = ()
    invoice_numbers: Sequence[str] = ()
    invoice_state: str | None = None  # none, posted, paid
    lines: Sequence[OrderLineStatus] = ()


@runtime_checkable
class OrderStatusBoard(Protocol):
    """A system that shows sales reps where their orders are (the CRM)."""

    @property
    def system(self) -> str:
        """The configured system name (`crm`)."""
        ...

    async def report_order_status(self, report: OrderStatusReport) -> None:
        """Write the status onto the CRM order and its lines; writing the same report twice changes nothing."""
        ...

    async def read_order_status(self, order_local_id: str) -> OrderStatusReport:
        """The status the CRM order shows now (for reconciliation and tests)."""
        ...
