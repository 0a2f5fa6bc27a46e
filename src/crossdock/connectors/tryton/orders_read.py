"""Reading a Tryton sale as the OrderDesk port's ErpSale: lines, shipments, invoices and drop-ship purchases.

One `sale.sale` row gives the ids of everything else, which is then read in parallel, one call per model: lines,
stock moves, customer shipments (`stock.shipment.out`, kind WAREHOUSE), drop shipments (`stock.shipment.drop`,
kind DROP_SHIP), invoices, and the purchases made from the lines' purchase requests. Shipment lines and shipped
quantities come from the sale's own stock moves (the outgoing or customer moves, whose origin is a sale line).

Tryton can cancel a sale only while it is a draft or a quotation. A processing sale is stopped by cancelling its
shipments and invoices and ignoring them (`TrytonOrderDesk.cancel_sale`), after which Tryton closes it as done:
a done sale that shipped nothing and owes nothing (no move done, no invoice posted or paid) reads as CANCELLED.
A Tryton shipment that is `shipped` has left the warehouse and reads as DONE. A sale line's cancelled quantity is
what its ignored cancelled moves held: what a drop-ship supplier refused (`orders_supply`).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crossdock.connectors.tryton.client import TrytonClient, TrytonError
from crossdock.connectors.tryton.orders_reference import FREIGHT_SKU
from crossdock.connectors.tryton.resources.base import related, text
from crossdock.model.common import Sourcing
from crossdock.ports.connector import ErrorKind
from crossdock.ports.orders import (
    ErpInvoice,
    ErpInvoiceLine,
    ErpPurchase,
    ErpSale,
    ErpSaleLine,
    ErpShipment,
    SaleState,
    ShipmentKind,
    ShipmentLine,
    ShipmentState,
)

SALE = "sale.sale"
SHIPMENT_OUT = "stock.shipment.out"
SHIPMENT_DROP = "stock.shipment.drop"
INVOICE = "account.invoice"
PURCHASE = "purchase.purchase"
REQUEST = "purchase.request"
OPEN_SHIPMENT_STATES = frozenset({"draft", "waiting", "assigned", "picked", "packed"})
"""Warehouse shipment states that have not left the warehouse (`shipped` has)."""

_SALE_FIELDS = [
    "number",
    "reference",
    "state",
    "party",
    "currency.code",
    "total_amount",
    "lines",
    "moves",
    "shipments",
    "drop_shipments",
    "invoices",
]
_LINE_FIELDS = [
    "sequence",
    "type",
    "product",
    "product.code",
    "quantity",
    "unit_price",
    "purchase_request",
    "product.template.supply_on_sale",
    "moves_ignored",
]
_MOVE_FIELDS = ["state", "quantity", "product.code", "shipment", "origin", "from_location.type", "to_location.type"]
_SHIPMENT_FIELDS = ["number", "state", "reference", "effective_date"]
_SHIPMENT_OUT_FIELDS = [*_SHIPMENT_FIELDS, "warehouse_storage", "warehouse_output"]
_INVOICE_FIELDS = ["number", "state", "total_amount", "tax_amount", "currency.code", "invoice_date", "reference"]
_INVOICE_LINE_FIELDS = ["invoice", "product.code", "product.name", "description", "quantity", "unit_price", "amount"]
_STATES = {state.value: state for state in SaleState}
_SHIPMENT_STATES = {
    "draft": ShipmentState.WAITING,
    "waiting": ShipmentState.WAITING,
    "assigned": ShipmentState.ASSIGNED,
    "picked": ShipmentState.PICKED,
    "packed": ShipmentState.PACKED,
    "shipped": ShipmentState.DONE,
    "done": ShipmentState.DONE,
    "cancelled": ShipmentState.CANCELLED,
}


class SaleRow:
    """A sale as read from Tryton, with its related rows, before it becomes an ErpSale."""

    def __init__(
        self,
        sale: Mapping[str, Any],
        lines: Sequence[Mapping[str, Any]],
        moves: Sequence[Mapping[str, Any]],
        shipments: Sequence[Mapping[str, Any]],
        drops: Sequence[Mapping[str, Any]],
        invoices: Sequence[Mapping[str, Any]],
        invoice_lines: Sequence[Mapping[str, Any]],
        purchases: Sequence[ErpPurchase],
        drop_skus: frozenset[str],
    ) -> None:
        self.sale = sale
        self.lines = sorted(lines, key=lambda line: (line.get("sequence") or 0, line["id"]))
        self.moves = moves
        self.shipments = shipments
        self.drops = drops
        self.invoices = invoices
        self.invoice_lines = invoice_lines
        self.purchases = purchases
        self.drop_skus = drop_skus

    @property
    def id(self) -> int:
        """The sale's id."""
        return int(self.sale["id"])

    @property
    def tryton_state(self) -> str:
        """Tryton's own state of the sale."""
        return str(self.sale["state"])

    def done_moves(self) -> list[Mapping[str, Any]]:
        """The sale's moves that reached the customer."""
        return [move for move in self.moves if move["state"] == "done"]

    def state(self) -> SaleState:
        """The neutral state; a processing sale Crossdock stopped reads as cancelled (see the module docstring)."""
        billed = any(invoice["state"] in ("posted", "paid") for invoice in self.invoices)
        if self.tryton_state == "done" and not self.done_moves() and not billed:
            return SaleState.CANCELLED
        return _STATES[self.tryton_state]

    def shipped_by_line(self) -> dict[str, Decimal]:
        """Quantity delivered to the customer per sale line (`sale.line,<id>`)."""
        shipped: dict[str, Decimal] = defaultdict(Decimal)
        for move in self.done_moves():
            if related(move, "to_location", "type") == "customer":
                shipped[str(move["origin"])] += decimal_of(move["quantity"])
        return shipped

    def cancelled_by_line(self) -> dict[str, Decimal]:
        """Quantity closed without delivery per sale line (`sale.line,<id>`): its ignored cancelled moves."""
        ignored = {int(m) for line in self.lines for m in line.get("moves_ignored") or ()}
        cancelled: dict[str, Decimal] = defaultdict(Decimal)
        for move in self.moves:
            if move["state"] == "cancelled" and int(move["id"]) in ignored:
                cancelled[str(move["origin"])] += decimal_of(move["quantity"])
        return cancelled

    def lines_of(self, shipment: str) -> list[ShipmentLine]:
        """The items and quantities on shipment `<model>,<id>`, from the sale's moves on it."""
        cancelled = all(m["state"] == "cancelled" for m in self.moves if m["shipment"] == shipment)
        quantities: dict[str, Decimal] = defaultdict(Decimal)
        for move in self.moves:
            if move["shipment"] == shipment and (cancelled or move["state"] != "cancelled"):
                quantities[str(related(move, "product", "code"))] += decimal_of(move["quantity"])
        return [ShipmentLine(sku, quantity) for sku, quantity in quantities.items() if quantity]

    def to_erp(self) -> ErpSale:
        """The ErpSale this row stands for."""
        shipped = self.shipped_by_line()
        cancelled = self.cancelled_by_line()
        requested = {int(line["id"]) for line in self.lines if line.get("purchase_request")}
        dropped = {str(m["origin"]) for m in self.moves if related(m, "from_location", "type") == "drop"}
        lines = []
        for line in self.lines:
            if line["type"] != "line" or not line.get("product"):
                continue
            key = f"sale.line,{line['id']}"
            sku = str(related(line, "product", "code"))
            drop_ship = int(line["id"]) in requested or key in dropped or sku in self.drop_skus
            lines.append(
                ErpSaleLine(
                    line_id=str(line["id"]),
                    sku=sku,
                    quantity=decimal_of(line["quantity"]),
                    unit_price=decimal_of(line["unit_price"]),
                    sourcing=Sourcing.DROP_SHIP if drop_ship else Sourcing.STOCKED,
                    shipped_quantity=shipped.get(key, Decimal(0)),
                    is_freight=sku == FREIGHT_SKU,
                    cancelled_quantity=cancelled.get(key, Decimal(0)),
                )
            )
        shipments = [
            self._shipment(row, SHIPMENT_OUT, ShipmentKind.WAREHOUSE) for row in sorted(self.shipments, key=_by_id)
        ] + [self._shipment(row, SHIPMENT_DROP, ShipmentKind.DROP_SHIP) for row in sorted(self.drops, key=_by_id)]
        return ErpSale(
            sale_id=str(self.id),
            number=text(self.sale.get("number")),
            reference=text(self.sale.get("reference")) or "",
            state=self.state(),
            currency=str(related(self.sale, "currency", "code")),
            total=decimal_of(self.sale.get("total_amount")),
            lines=lines,
            shipments=shipments,
            invoices=self.erp_invoices(),
            purchases=list(self.purchases),
        )

    def erp_invoices(self) -> list[ErpInvoice]:
        """The sale's invoices with their lines, oldest first."""
        return [
            invoice_of(row, [line for line in self.invoice_lines if line["invoice"] == row["id"]])
            for row in sorted(self.invoices, key=_by_id)
        ]

    def _shipment(self, row: Mapping[str, Any], model: str, kind: ShipmentKind) -> ErpShipment:
        return shipment_of(row, kind, self.lines_of(f"{model},{row['id']}"))


def shipment_of(row: Mapping[str, Any], kind: ShipmentKind, lines: Sequence[ShipmentLine]) -> ErpShipment:
    """An ErpShipment from a shipment row and its lines."""
    return ErpShipment(
        shipment_id=str(row["id"]),
        number=text(row.get("number")),
        kind=kind,
        state=_SHIPMENT_STATES[str(row["state"])],
        lines=list(lines),
        tracking=text(row.get("reference")),
        shipped_on=row.get("effective_date"),
    )


def invoice_of(row: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> ErpInvoice:
    """An ErpInvoice from an `account.invoice` row and its lines (`account.invoice.line` rows)."""
    return ErpInvoice(
        invoice_id=str(row["id"]),
        number=text(row.get("number")),
        state=str(row["state"]),
        total=decimal_of(row.get("total_amount")),
        currency=str(related(row, "currency", "code")),
        invoice_date=row.get("invoice_date"),
        tax_amount=decimal_of(row.get("tax_amount")),
        lines=[
            ErpInvoiceLine(
                sku=text(related(line, "product", "code")),
                description=text(line.get("description")) or text(related(line, "product", "name")) or "",
                quantity=decimal_of(line.get("quantity")),
                unit_price=decimal_of(line.get("unit_price")),
                amount=decimal_of(line.get("amount")),
            )
            for line in lines
        ],
        reference=text(row.get("reference")),
    )


class SaleReader:
    """Reads sales with everything attached, in few round trips."""

    def __init__(self, client: TrytonClient, system: str) -> None:
        self._client = client
        self._system = system

    async def row(self, sale_id: int) -> SaleRow:
        """The sale `sale_id` with its related rows; a data quality error if Tryton has no such sale."""
        sales = await self._client.search_read(SALE, [("id", "=", sale_id)], _SALE_FIELDS)
        if not sales:
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{self._system}: Tryton has no sale {sale_id}; it was deleted there, or the id is not a Tryton sale",
            )
        sale = sales[0]
        lines, moves, shipments, drops, invoices = await asyncio.gather(
            self._client.read("sale.line", sale["lines"], _LINE_FIELDS),
            self._client.read("stock.move", sale["moves"], _MOVE_FIELDS),
            self._client.read(SHIPMENT_OUT, sale["shipments"], _SHIPMENT_OUT_FIELDS),
            self._client.read(SHIPMENT_DROP, sale["drop_shipments"], _SHIPMENT_FIELDS),
            self._client.read(INVOICE, sale["invoices"], _INVOICE_FIELDS),
        )
        requests = sorted({int(line["purchase_request"]) for line in lines if line.get("purchase_request")})
        invoice_lines, purchases, drop_skus = await asyncio.gather(
            self._invoice_lines(sale["invoices"]),
            self.purchases(requests),
            self._drop_ship_skus(sale, lines) if not requests else _no_skus(),
        )
        return SaleRow(sale, lines, moves, shipments, drops, invoices, invoice_lines, purchases, drop_skus)

    async def read(self, sale_id: int) -> ErpSale:
        """The sale as an ErpSale."""
        return (await self.row(sale_id)).to_erp()

    async def find(self, reference: str) -> SaleRow | None:
        """The newest live sale made for `reference` (Tryton-cancelled and stopped sales are not live)."""
        ids = await self._client.search(SALE, [("reference", "=", reference), ("state", "!=", "cancelled")])
        for sale_id in sorted(ids, reverse=True):
            row = await self.row(sale_id)
            if row.state() is not SaleState.CANCELLED:
                return row
        return None

    async def _invoice_lines(self, invoice_ids: Sequence[int]) -> list[dict[str, Any]]:
        if not invoice_ids:
            return []
        return await self._client.search_read(
            "account.invoice.line",
            [("invoice", "in", list(invoice_ids)), ("type", "=", "line")],
            _INVOICE_LINE_FIELDS,
            order=(("invoice", "ASC"), ("sequence", "ASC"), ("id", "ASC")),
        )

    async def purchases(self, request_ids: Sequence[int]) -> list[ErpPurchase]:
        """The purchases made from these purchase requests, with their lines."""
        if not request_ids:
            return []
        requests = await self._client.read(REQUEST, request_ids, ["purchase"])
        return await self.purchases_by_id(sorted({int(r["purchase"]) for r in requests if r.get("purchase")}))

    async def purchases_by_id(self, purchase_ids: Sequence[int], *, with_invoices: bool = False) -> list[ErpPurchase]:
        """These purchases with their lines (with their supplier invoices if asked); unknown ids are left out."""
        if not purchase_ids:
            return []
        fields = ["number", "state", "party", "party.name", "currency.code", *(["invoices"] if with_invoices else [])]
        purchases, lines = await asyncio.gather(
            self._client.search_read(PURCHASE, [("id", "in", list(purchase_ids))], fields),
            self._client.search_read(
                "purchase.line",
                [("purchase", "in", list(purchase_ids)), ("type", "=", "line")],
                ["purchase", "product.code", "quantity", "unit_price"],
                order=(("purchase", "ASC"), ("sequence", "ASC"), ("id", "ASC")),
            ),
        )
        invoice_ids = sorted({int(i) for row in purchases for i in row.get("invoices") or ()})
        invoices, invoice_lines = await asyncio.gather(
            self._client.read(INVOICE, invoice_ids, _INVOICE_FIELDS) if invoice_ids else _no_rows(),
            self._invoice_lines(invoice_ids),
        )
        return [
            ErpPurchase(
                purchase_id=str(row["id"]),
                number=text(row.get("number")),
                state=str(row["state"]),
                supplier_id=str(row["party"]),
                supplier_name=str(related(row, "party", "name")),
                lines=[
                    ShipmentLine(str(related(line, "product", "code")), decimal_of(line["quantity"]))
                    for line in lines
                    if line["purchase"] == row["id"]
                ],
                currency=text(related(row, "currency", "code")),
                unit_costs={
                    str(related(line, "product", "code")): decimal_of(line["unit_price"])
                    for line in lines
                    if line["purchase"] == row["id"] and line.get("unit_price") is not None
                },
                invoices=[
                    invoice_of(invoice, [line for line in invoice_lines if line["invoice"] == invoice["id"]])
                    for invoice in sorted(invoices, key=_by_id)
                    if invoice["id"] in (row.get("invoices") or ())
                ],
            )
            for row in sorted(purchases, key=_by_id)
        ]

    async def _drop_ship_skus(self, sale: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> frozenset[str]:
        """SKUs of a sale not yet processed that Tryton will drop-ship: always supplied on sale, by a drop shipper."""
        if sale["state"] not in ("draft", "quotation", "confirmed"):
            return frozenset()
        always = {
            int(line["product"]): str(related(line, "product", "code"))
            for line in lines
            if line.get("product") and _supply_on_sale(line) == "always"
        }
        if not always:
            return frozenset()
        products = await self._client.read("product.product", sorted(always), ["template"])
        templates = sorted({int(p["template"]) for p in products})
        suppliers = await self._client.search_read(
            "purchase.product_supplier",
            [("template", "in", templates), ("drop_shipment", "=", True)],
            ["template", "product"],
        )
        dropped: set[str] = set()
        for product in products:
            if any(
                s["template"] == product["template"] and s.get("product") in (None, product["id"]) for s in suppliers
            ):
                dropped.add(always[int(product["id"])])
        return frozenset(dropped)


async def _no_skus() -> frozenset[str]:
    return frozenset()


async def _no_rows() -> list[dict[str, Any]]:
    return []


def _supply_on_sale(line: Mapping[str, Any]) -> Any:
    product = line.get("product.")
    template = product.get("template.") if isinstance(product, Mapping) else None
    return template.get("supply_on_sale") if isinstance(template, Mapping) else None


def decimal_of(value: Any) -> Decimal:
    """A Tryton number as a Decimal: floats (quantities) through their shortest text, so 2.0 is 2 and 0.1 is 0.1."""
    if value is None:
        return Decimal(0)
    if isinstance(value, float):
        number = Decimal(repr(value))
        return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()
    return Decimal(value)


def _by_id(row: Mapping[str, Any]) -> int:
    return int(row["id"])
