"""Fulfilment on Tryton: dispatching customer shipments, backorders, drop shipments, invoices, cancelling a sale.

Dispatch works on the sale's open `stock.shipment.out` rows, oldest first: `assign_try` reserves what the storage zone
holds (Tryton splits a move so the available part is assigned). All assigned: `pick` (when the warehouse picks from
storage to an output zone), `pack`, `do`. Partly assigned:

- with `ship_partial`, the shipment assign wizard's "Ignore" (`stock.shipment.assign`, state `ignore`) sets what
  could not be reserved to zero and assigns the shipment; it ships what was reserved. When the shipment is done,
  Tryton processes the sale and, because the lines have not moved their full quantity, creates a new waiting
  shipment for the rest: that is the backorder, and a later dispatch ships it once stock arrived;
- without it, nothing ships and `wait` puts the shipment back to waiting, which releases what `assign_try` had
  reserved, so stock is not locked by a held order.

A dispatch that finds no open shipment changes nothing and answers the newest shipped one (the result a repeated
call after a crash must see again). Tryton makes one shipment per planned date, so a sale normally has one open
shipment at a time; when several ship in one call, the oldest is the one answered.

Drop-ship: confirming a sale of a drop-shipped item creates a `purchase.request` per line; `order_drop_ship` runs the
wizard `purchase.request.create_purchase` for requests not purchased yet (one purchase per supplier), then quotes and
confirms the purchases. Confirmed, Tryton makes a `stock.shipment.drop` (waiting) on the sale, which
`complete_drop_shipment` ships (`ship`: supplier moves done, customer moves synchronised) and closes (`do`); for less
than ordered, the supplier moves are lowered first and Tryton's purchase and sale processing order the rest again.

Invoices: the sale invoices on fulfillment, so each shipment done gives a draft invoice; `invoice` posts drafts.
Posting warns that line taxes differ from the item's default taxes (`invoice_taxes`): taxes come from the order's tax
rules, so that warning is expected and acknowledged for those invoices only.

Cancel: Tryton cancels only draft and quotation sales (a confirmed one is reset to draft first). A processing sale is
stopped the way Tryton's documentation describes: its open shipments are cancelled (which cancels their moves and
releases reserved stock), its draft invoices cancelled, its drop-ship purchase requests cancelled through their
purchases (a draft request is first purchased, so it can be cancelled with its purchase and the cancellation
exception handled as "cancel request"), then the sale's shipment and invoice exceptions are handled by ignoring the
cancelled moves and invoices. Tryton then closes the sale as done; `orders_read` reads a done sale that moved and
billed nothing as cancelled. A sale that shipped everything, or whose drop-ship purchase the supplier already has
(confirmed), cannot be cancelled: that is a data quality error saying what to do instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crossdock.connectors.tryton.client import TrytonClient, TrytonError
from crossdock.connectors.tryton.orders_read import (
    INVOICE,
    OPEN_SHIPMENT_STATES,
    PURCHASE,
    REQUEST,
    SALE,
    SHIPMENT_DROP,
    SHIPMENT_OUT,
    SaleReader,
    SaleRow,
    decimal_of,
    shipment_of,
)
from crossdock.connectors.tryton.orders_reference import OrderReferences
from crossdock.connectors.tryton.orders_wizard import Wizard, press, view_defaults, view_state
from crossdock.connectors.tryton.resources.base import related
from crossdock.ports.connector import ErrorKind
from crossdock.ports.orders import (
    DispatchResult,
    ErpInvoice,
    ErpPurchase,
    ErpSale,
    ErpShipment,
    SaleState,
    ShipmentKind,
    ShipmentLine,
)

_UNPROCESSED = ("draft", "quotation")


class Fulfilment:
    """Shipping, drop-shipping, invoicing and cancelling sales in one Tryton."""

    def __init__(self, client: TrytonClient, system: str, refs: OrderReferences, reader: SaleReader) -> None:
        self._client = client
        self._system = system
        self._refs = refs
        self._reader = reader

    # -- warehouse shipments ------------------------------------------------------------------------------------

    async def dispatch(self, sale_id: int, *, ship_partial: bool) -> DispatchResult:
        """Ship what can be reserved of the open shipments (all or nothing without `ship_partial`)."""
        row = await self._processed(sale_id, "dispatched")
        # A shipment that left (`shipped`) but is not closed is closed here too.
        states = OPEN_SHIPMENT_STATES | {"shipped"}
        open_shipments = sorted((s for s in row.shipments if s["state"] in states), key=_by_id)
        shipped_now = [int(s["id"]) for s in open_shipments if await self._ship(s, ship_partial=ship_partial)]
        if shipped_now:
            row = await self._reader.row(sale_id)
        sale = row.to_erp()
        warehouse = [s for s in sale.shipments if s.kind is ShipmentKind.WAREHOUSE]
        waiting = [s for s in warehouse if int(s.shipment_id) not in shipped_now and _open(s)]
        if shipped_now:
            shipped: ErpShipment | None = next(s for s in warehouse if s.shipment_id == str(shipped_now[0]))
        elif not waiting:
            done = [s for s in warehouse if s.state.value == "done"]
            shipped = done[-1] if done else None
        else:
            shipped = None
        return DispatchResult(
            shipped=shipped,
            backordered=[line for s in waiting for line in s.lines],
            backorder_shipment_id=waiting[0].shipment_id if waiting else None,
        )

    async def _ship(self, shipment: Mapping[str, Any], *, ship_partial: bool) -> bool:
        """Take one open shipment as far as it goes; True when it shipped."""
        shipment_id = int(shipment["id"])
        state = str(shipment["state"])
        if state == "draft":
            await press(self._client, SHIPMENT_OUT, "wait", [shipment_id])
            state = "waiting"
        if state == "waiting":
            reserve = self._reserve_what_is_there if ship_partial else self._reserve_all_or_nothing
            if not await reserve(shipment_id):
                return False
            state = "assigned"
        if state == "assigned" and shipment["warehouse_storage"] != shipment["warehouse_output"]:
            # Goods are picked from storage into the output zone first when the warehouse has one.
            await press(self._client, SHIPMENT_OUT, "pick", [shipment_id])
            state = "picked"
        if state in ("assigned", "picked"):
            await press(self._client, SHIPMENT_OUT, "pack", [shipment_id])
            state = "packed"
        if state in ("packed", "shipped"):
            await press(self._client, SHIPMENT_OUT, "do", [shipment_id])
        return True

    async def _reserve_all_or_nothing(self, shipment_id: int) -> bool:
        await press(self._client, SHIPMENT_OUT, "assign_try", [shipment_id])
        state, partly = await self._assignment(shipment_id)
        if state == "assigned":
            return True
        if partly:
            # Give back what assign_try reserved: a held order must not lock stock others could ship.
            await press(self._client, SHIPMENT_OUT, "wait", [shipment_id])
        return False

    async def _reserve_what_is_there(self, shipment_id: int) -> bool:
        """The assign wizard: reserve what there is; when that is part of it, ignore the rest (see above)."""
        async with Wizard(self._client, "stock.shipment.assign", SHIPMENT_OUT, [shipment_id]) as wizard:
            asked = await wizard.execute(wizard.start)
            if view_state(asked) != "partial":
                return True
            _, partly = await self._assignment(shipment_id)
            if not partly:
                return False  # nothing in stock: the shipment waits as it was
            await wizard.execute("ignore", {"partial": {"moves": view_defaults(asked).get("moves") or []}})
        return True

    async def _assignment(self, shipment_id: int) -> tuple[str, bool]:
        (row,) = await self._client.read(SHIPMENT_OUT, [shipment_id], ["state", "partially_assigned"])
        return str(row["state"]), bool(row["partially_assigned"])

    # -- drop shipments -----------------------------------------------------------------------------------------

    async def order_drop_ship(self, sale_id: int) -> list[ErpPurchase]:
        """Purchase the sale's unpurchased drop-ship requests; quote and confirm their purchases."""
        row = await self._processed(sale_id, "drop-shipped")
        request_ids = _request_ids(row)
        if not request_ids:
            return []
        await self._purchase_requests(request_ids)
        purchases = await self._reader.purchases(request_ids)
        drafts = [int(p.purchase_id) for p in purchases if p.state == "draft"]
        await press(self._client, PURCHASE, "quote", drafts)
        quoted = drafts + [int(p.purchase_id) for p in purchases if p.state == "quotation"]
        await press(self._client, PURCHASE, "confirm", quoted)
        purchases = await self._reader.purchases(request_ids)
        # Confirming queues the purchase's processing (which makes the drop shipment); run it if it did not happen.
        unprocessed = [int(p.purchase_id) for p in purchases if p.state == "confirmed"]
        if unprocessed:
            await press(self._client, PURCHASE, "process", unprocessed)
            purchases = await self._reader.purchases(request_ids)
        return [p for p in purchases if p.state != "cancelled"]

    async def _purchase_requests(self, request_ids: Sequence[int]) -> list[int]:
        """Run the create-purchase wizard on the requests not purchased yet; their ids."""
        requests = await self._client.read(REQUEST, request_ids, ["state", "purchase", "party", "product.code"])
        waiting = [r for r in requests if not r.get("purchase") and r["state"] == "draft"]
        unsourced = sorted(str(related(r, "product", "code")) for r in waiting if not r.get("party"))
        if unsourced:
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{self._system}: Tryton knows no supplier for {', '.join(unsourced)}; add a product supplier to "
                "the item in Tryton, then order the drop-ship again",
            )
        ids = [int(r["id"]) for r in waiting]
        if ids:
            async with Wizard(self._client, "purchase.request.create_purchase", REQUEST, ids) as wizard:
                await wizard.execute(wizard.start)
        return ids

    async def complete_drop_shipment(self, sale_id: int, shipped: Sequence[ShipmentLine]) -> ErpShipment:
        """Ship and close the open drop shipment holding these SKUs, for these quantities."""
        row = await self._reader.row(sale_id)
        skus = {line.sku for line in shipped}
        drops = sorted(row.drops, key=lambda d: int(d["id"]))

        def holds(drop: Mapping[str, Any]) -> bool:
            lines = row.lines_of(f"{SHIPMENT_DROP},{drop['id']}")
            return not skus or any(line.sku in skus for line in lines)

        candidates = [d for d in drops if d["state"] in ("draft", "waiting", "shipped") and holds(d)]
        if not candidates:
            done = [d for d in drops if d["state"] == "done" and holds(d)]
            if done:
                return shipment_of(done[-1], ShipmentKind.DROP_SHIP, row.lines_of(f"{SHIPMENT_DROP},{done[-1]['id']}"))
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{self._system}: sale {row.sale.get('number') or sale_id} has no open drop shipment for "
                f"{', '.join(sorted(skus)) or 'any item'}; order the drop-ship first (its purchase must be confirmed)",
            )
        drop_id = int(candidates[0]["id"])
        state = str(candidates[0]["state"])
        if state == "draft":
            await press(self._client, SHIPMENT_DROP, "wait", [drop_id])
            state = "waiting"
        if state == "waiting":
            await self._set_supplier_quantities(drop_id, shipped)
            await press(self._client, SHIPMENT_DROP, "ship", [drop_id])
        await press(self._client, SHIPMENT_DROP, "do", [drop_id])
        row = await self._reader.row(sale_id)
        (drop,) = [d for d in row.drops if int(d["id"]) == drop_id]
        return shipment_of(drop, ShipmentKind.DROP_SHIP, row.lines_of(f"{SHIPMENT_DROP},{drop_id}"))

    async def _set_supplier_quantities(self, drop_id: int, shipped: Sequence[ShipmentLine]) -> None:
        """Lower the supplier moves to what the supplier says it shipped (nothing listed: all of it shipped)."""
        if not shipped:
            return
        (drop,) = await self._client.read(SHIPMENT_DROP, [drop_id], ["supplier_moves"])
        moves = await self._client.read("stock.move", drop["supplier_moves"], ["state", "quantity", "product.code"])
        left: dict[str, Decimal] = defaultdict(Decimal)
        for line in shipped:
            left[line.sku] += line.quantity
        for move in sorted(moves, key=lambda m: int(m["id"])):
            if move["state"] in ("done", "cancelled"):
                continue
            sku = str(related(move, "product", "code"))
            quantity = decimal_of(move["quantity"])
            wanted = min(quantity, left[sku])
            left[sku] -= wanted
            if wanted != quantity:
                await self._client.write("stock.move", [int(move["id"])], {"quantity": float(wanted)})

    # -- invoices -----------------------------------------------------------------------------------------------

    async def invoice(self, sale_id: int) -> list[ErpInvoice]:
        """Post the sale's draft and validated invoices; all its invoices, oldest first."""
        row = await self._reader.row(sale_id)
        drafts = sorted(int(i["id"]) for i in row.invoices if i["state"] in ("draft", "validated"))
        if drafts:
            await press(self._client, INVOICE, "post", drafts, expected_warnings={"invoice_taxes"})
            row = await self._reader.row(sale_id)
        return row.erp_invoices()

    # -- cancelling ---------------------------------------------------------------------------------------------

    async def cancel(self, sale_id: int) -> ErpSale:
        """Cancel the sale as far as Tryton allows (see the module docstring)."""
        row = await self._reader.row(sale_id)
        if row.state() is SaleState.CANCELLED:
            return row.to_erp()
        if row.tryton_state == "confirmed":
            await press(self._client, SALE, "draft", [sale_id])
        if row.tryton_state in ("draft", "quotation", "confirmed"):
            await press(self._client, SALE, "cancel", [sale_id])
            return await self._reader.read(sale_id)
        self._check_cancellable(row)
        await self._cancel_supply(row)
        await press(self._client, SHIPMENT_OUT, "cancel", [int(s["id"]) for s in row.shipments if _cancellable(s)])
        await press(self._client, SHIPMENT_DROP, "cancel", [int(s["id"]) for s in row.drops if _cancellable(s)])
        await press(self._client, INVOICE, "cancel", [int(i["id"]) for i in row.invoices if i["state"] == "draft"])
        # Processing sees the cancelled requests (and cancels their drop moves) and raises the exceptions handled here.
        await press(self._client, SALE, "process", [sale_id])
        await self._handle_exception(sale_id, "sale.handle.shipment.exception", "moves")
        await self._handle_exception(sale_id, "sale.handle.invoice.exception", "invoices")
        return await self._reader.read(sale_id)

    def _check_cancellable(self, row: SaleRow) -> None:
        sale = row.to_erp()
        name = sale.number or sale.sale_id
        goods = [line for line in sale.lines if not line.is_freight]
        if goods and all(line.shipped_quantity >= line.quantity for line in goods):
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{self._system}: sale {name} has shipped everything and cannot be cancelled; take the goods back "
                "with a customer return and credit note instead",
            )
        # A purchase the supplier has confirmed can only be stopped with the supplier; one whose goods all reached
        # the customer is history and does not stand in the way.
        undelivered = {line.sku for line in goods if line.shipped_quantity < line.quantity}
        ordered = [
            p
            for p in sale.purchases
            if p.state in ("confirmed", "processing") and any(line.sku in undelivered for line in p.lines)
        ]
        if ordered:
            numbers = ", ".join(f"{p.number or p.purchase_id} ({p.supplier_name})" for p in ordered)
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{self._system}: sale {name} cannot be cancelled: its drop-ship purchase {numbers} is confirmed "
                "with the supplier; cancel it with the supplier and in Tryton first",
            )

    async def _cancel_supply(self, row: SaleRow) -> None:
        """Cancel the sale's drop-ship requests through their (draft or quoted) purchases."""
        request_ids = _request_ids(row)
        if not request_ids:
            return
        await self._purchase_requests(request_ids)
        purchases = await self._reader.purchases(request_ids)
        unordered = [int(p.purchase_id) for p in purchases if p.state in _UNPROCESSED]
        await press(self._client, PURCHASE, "cancel", unordered)
        requests = await self._client.read(REQUEST, request_ids, ["state"])
        exceptions = [int(r["id"]) for r in requests if r["state"] == "exception"]
        if exceptions:
            async with Wizard(
                self._client, "purchase.request.handle.purchase.cancellation", REQUEST, exceptions
            ) as wizard:
                await wizard.execute(wizard.start)
                await wizard.execute("cancel_request")

    async def _handle_exception(self, sale_id: int, wizard_name: str, what: str) -> None:
        """Run a sale's exception wizard, ignoring every cancelled move or invoice it offers."""
        async with Wizard(self._client, wizard_name, SALE, [sale_id]) as wizard:
            asked = await wizard.execute(wizard.start)
            offered = view_defaults(asked).get(f"domain_{what}") or []
            if offered:
                form = {f"recreate_{what}": [], f"ignore_{what}": offered, f"domain_{what}": offered}
                await wizard.execute("handle", {"ask": form})

    # -- shared -------------------------------------------------------------------------------------------------

    async def _processed(self, sale_id: int, doing: str) -> SaleRow:
        """The sale, processed by Tryton; a quotation or a cancelled sale cannot be fulfilled."""
        row = await self._reader.row(sale_id)
        if row.state() is SaleState.CANCELLED or row.tryton_state in _UNPROCESSED:
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{self._system}: sale {row.sale.get('number') or sale_id} is {row.state().value} and cannot be "
                f"{doing}; confirm it first",
            )
        if row.tryton_state == "confirmed":
            await press(self._client, SALE, "process", [sale_id])
            row = await self._reader.row(sale_id)
        return row


def _request_ids(row: SaleRow) -> list[int]:
    return sorted({int(line["purchase_request"]) for line in row.lines if line.get("purchase_request")})


def _cancellable(shipment: Mapping[str, Any]) -> bool:
    return shipment["state"] in ("draft", "waiting", "assigned", "picked", "packed")


def _by_id(row: Mapping[str, Any]) -> int:
    return int(row["id"])


def _open(shipment: ErpShipment) -> bool:
    return shipment.state.value not in ("done", "cancelled")
