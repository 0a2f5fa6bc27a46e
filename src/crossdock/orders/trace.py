"""One business transaction's way through every system, as one timeline: what `crossdock trace order` prints and
the console's lineage page shows.

Give it any key people search by (an order number, a customer number, a PO or invoice number, a canonical id or a
correlation id) and it gathers, oldest first: the lineage rows (captures, deliveries, the process's ERP and CRM
writes), the steps of the order's quote-to-order process with the system each one called, the events the process
emitted (acceptance, shipments, invoices), the order as the API took it, the EDI files exchanged about its purchase
orders, and the exceptions raised about it. Rows keep the documents behind them (event data, the API's order, the
EDI file) for a reader that shows them, redacted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from crossdock.orders.quote_to_order import NAME as QUOTE_TO_ORDER
from crossdock.ports.partners import DocumentDirection
from crossdock.ports.store import BusinessException, LineageEntry, Store, UnitOfWork
from crossdock.process import ProcessEngine, ProcessView, StepKind

# Which system a quote-to-order step talks to, by the step's name before `:`.
_ERP_STEPS = {
    "customer_standing",
    "item_supply",
    "contract_prices",
    "credit_check",
    "create_sale",
    "confirm_sale",
    "dispatch",
    "order_drop_ship",
    "complete_drop_ship",
    "invoice",
    "read_sale",
    "compensate",
}
_LOG_STEPS = {"publish", "publish_invoices", "reject"}
# The partner documents about one purchase order, both ways.
_PO_DOCUMENTS = (
    (DocumentDirection.OUTBOUND, "850"),
    (DocumentDirection.INBOUND, "855"),
    (DocumentDirection.INBOUND, "856"),
    (DocumentDirection.INBOUND, "810"),
)
_EXCEPTION_SCAN = 5000  # the exception queue has no key index; its open and recent part is what matters here


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One hop of the transaction's way.

    `kind` says where the row comes from: `lineage`, `process` (a journaled step), `event` (emitted by the
    process), `api` (the order as the API took it), `edi` (a file exchanged with a partner) or `exception`.
    `ref` is the id of what it points to (a process instance, an exception); `document` what a reader may open.
    """

    at: datetime | None
    system: str
    step: str
    outcome: str
    detail: str
    kind: str = "lineage"
    ref: str | None = None
    document: Any = None


@dataclass(frozen=True, slots=True)
class TraceSystems:
    """Which configured systems the timeline names: the ERP and CRM that take orders, and the trading partners
    (partner name → the system name their documents are filed under)."""

    erp: str = "erp"
    crm: str | None = None
    partners: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Trace:
    """What is known about one key: the order's process (if it is an order), the timeline, and every system's
    record of the business object (`canonical` is its canonical id)."""

    key: str
    process: ProcessView | None
    rows: list[TraceRow]
    references: dict[str, str]
    entity: str | None = None

    @property
    def found(self) -> bool:
        """False when nothing at all is known about the key."""
        return self.process is not None or bool(self.rows)


def step_system(name: str, systems: TraceSystems) -> str:
    """The system a quote-to-order step talks to."""
    if "@" in name:
        return "partner"  # a wait for a partner's answer: `<event type>@<correlation key>`
    head = name.split(":", 1)[0]
    if head in _ERP_STEPS:
        return systems.erp
    if head == "tell_crm":
        return systems.crm or "crm"
    if head in _LOG_STEPS:
        return "log"
    return "crossdock"


def summary(result: Any) -> str:
    """A step's result in one short line."""
    if result is None:
        return ""
    if isinstance(result, dict):
        keys = ("number", "state", "outcome", "reason", "shipped", "backordered", "available")
        picked = {k: result[k] for k in keys if k in result and result[k] not in (None, [], {})}
        text = orjson.dumps(picked or result, default=str).decode()
    else:
        text = orjson.dumps(result, default=str).decode()
    return text if len(text) <= 100 else text[:97] + "..."


def _entity_of(lineage: Sequence[LineageEntry]) -> str | None:
    """The entity the lineage is about, from step names such as `capture.customer` or `deliver.customer`."""
    for entry in lineage:
        head, _, entity = entry.step.partition(".")
        if head in ("capture", "deliver") and entity:
            return entity
    return None


def _merge(first: list[LineageEntry], second: list[LineageEntry]) -> list[LineageEntry]:
    seen = {entry.id for entry in first}
    return first + [entry for entry in second if entry.id not in seen]


class Tracer:
    """Assembles timelines from the store and the process engine (read only)."""

    def __init__(self, store: Store, engine: ProcessEngine, systems: TraceSystems | None = None) -> None:
        self._store = store
        self._engine = engine
        self._systems = systems or TraceSystems()

    def trace(self, key: str) -> Trace:
        """The timeline of whatever `key` names; `Trace.found` is False when nothing does."""
        key = key.strip()
        process = self._engine.find(QUOTE_TO_ORDER, key)
        with self._store.unit_of_work(read_only=True) as uow:
            lineage = uow.lineage.find(key)
            subject: str | None = process.input["order"]["id"] if process is not None else None
            if subject is None:
                subject = next((entry.subject for entry in lineage if entry.subject), None)
            if subject is not None and subject != key:
                lineage = _merge(lineage, uow.lineage.find(subject))
            if process is None and subject is not None:
                # Searched by a canonical id or another key of an order: its process is filed under its number.
                number = next((e.business_keys.get("order") for e in lineage if e.business_keys.get("order")), None)
                if number:
                    process = self._engine.find(QUOTE_TO_ORDER, number)
            entity = "order" if process is not None else _entity_of(lineage)
            references: dict[str, str] = {}
            if subject is not None:
                if entity is not None:
                    references = {ref.system: ref.local_id for ref in uow.xrefs.for_canonical(entity, subject)}
                references["canonical"] = subject
            numbers = {key} | ({process.business_key} if process is not None else set())
            rows = [self._lineage_row(entry) for entry in lineage]
            rows += self._exception_rows(uow, subject, numbers)
            rows += self._api_rows(uow, numbers)
            purchase_orders = {key} | {e.business_keys["po"] for e in lineage if e.business_keys.get("po")}
            # Partners named by the lineage too (an 850's row says whose it was), configured here or not.
            partners = dict(self._systems.partners)
            for entry in lineage:
                partner = entry.detail.get("partner")
                if isinstance(partner, str):
                    partners.setdefault(partner, entry.system)
            rows += self._edi_rows(uow, purchase_orders, partners)
            if process is not None:
                rows += self._event_rows(uow, process)
        if process is not None:
            rows += self._process_rows(process)
        rows.sort(key=lambda row: (row.at is None, row.at or datetime.min.replace(tzinfo=UTC)))
        return Trace(key, process, rows, references, entity)

    @staticmethod
    def _lineage_row(entry: LineageEntry) -> TraceRow:
        keys = ", ".join(f"{k}={v}" for k, v in entry.business_keys.items() if k != "order")
        return TraceRow(
            entry.started_at, entry.system, entry.step, entry.outcome, keys, "lineage", entry.event_id, entry.detail
        )

    def _process_rows(self, view: ProcessView) -> list[TraceRow]:
        rows = []
        for step in view.steps:
            if step.name.startswith("lineage:") or step.kind is StepKind.NOW:
                continue  # shown as its lineage row; a journaled clock reading says nothing to an operator
            rows.append(
                TraceRow(
                    step.finished_at or step.started_at,
                    step_system(step.name, self._systems),
                    step.name,
                    step.status.value,
                    step.error or summary(step.result),
                    "process",
                    view.id,
                    step.result,
                )
            )
        return rows

    @staticmethod
    def _exception_rows(uow: UnitOfWork, subject: str | None, numbers: set[str]) -> list[TraceRow]:
        def about(exception: BusinessException) -> bool:
            if subject is not None and exception.subject == subject:
                return True
            return exception.subject in numbers or exception.details.get("order") in numbers

        return [
            TraceRow(
                exception.created_at,
                exception.system or "crossdock",
                f"exception #{exception.id} ({exception.owner_queue})",
                exception.status.value,
                exception.reason,
                "exception",
                str(exception.id),
                exception.raw_payload,
            )
            for exception in uow.exceptions.list(limit=_EXCEPTION_SCAN)
            if about(exception)
        ]

    @staticmethod
    def _api_rows(uow: UnitOfWork, numbers: set[str]) -> list[TraceRow]:
        rows = []
        for number in sorted(numbers):
            order = uow.api.find_order(number)
            if order is None:
                continue
            po = f"customer PO {order.customer_reference}" if order.customer_reference else ""
            rows.append(
                TraceRow(
                    order.submitted_at,
                    "api",
                    "POST /v1/orders",
                    "accepted",
                    f"client {order.client_id} {po}".strip(),
                    "api",
                    order.order_id,
                    order.document,
                )
            )
        return rows

    @staticmethod
    def _edi_rows(uow: UnitOfWork, purchase_orders: set[str], partners: Mapping[str, str]) -> list[TraceRow]:
        rows = []
        for partner, system in sorted(partners.items()):
            for reference in sorted(purchase_orders):
                for direction, kind in _PO_DOCUMENTS:
                    for document in uow.partners.find(partner, direction, kind, reference):
                        arrow = "sent to" if direction is DocumentDirection.OUTBOUND else "received from"
                        text = document.payload.decode("utf-8", "replace") if document.payload is not None else None
                        rows.append(
                            TraceRow(
                                document.at,
                                system,
                                f"EDI {kind} {arrow} {partner}",
                                "answered" if document.answered_at is not None else direction.value,
                                f"PO {reference}, control {document.control_number or '-'}, "
                                f"file {document.file_name or '-'}",
                                "edi",
                                document.event_id,
                                text,
                            )
                        )
        return rows

    @staticmethod
    def _event_rows(uow: UnitOfWork, process: ProcessView) -> list[TraceRow]:
        rows = []
        for entry in uow.outbox.for_instance(process.id):
            event = entry.event
            published = "published" if entry.published_at is not None else "in the outbox"
            rows.append(
                TraceRow(
                    entry.created_at,
                    "log",
                    event.type,
                    published,
                    f"subject {event.subject}",
                    "event",
                    event.id,
                    event.data,
                )
            )
        return rows
