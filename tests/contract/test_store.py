"""The Store contract (see `crossdock.ports.store`): one suite, run on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from crossdock.ports.store import (
    BusinessException,
    CrossReference,
    Delivery,
    DeliveryOutcome,
    DuplicateDeliveryError,
    ExceptionClass,
    ExceptionStatus,
    GoldenRecord,
    LineageEntry,
    Store,
)
from crossdock.store import (
    CrossReferenceConflictError,
    MemoryStore,
    SqlStore,
    StoreError,
    UnitOfWorkError,
    UnknownExceptionError,
)
from crossdock.store.schema import VERSION_TABLE, current_revision, head_revision
from crossdock.store.tables import metadata
from tests.support.stores import postgres_schema

AnyStore = MemoryStore | SqlStore
BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
FLOW, TARGET = "flow.customers.erp", "erp"
T0 = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)


# --- fixtures ---


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database of the parametrised SQL backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        with postgres_schema() as url:
            yield url


def delivery(event_id: str, *, flow: str = FLOW, target: str = TARGET) -> Delivery:
    """A delivered customer change."""
    return Delivery(flow, target, event_id, subject=f"cust-{event_id}", outcome=DeliveryOutcome.DELIVERED)


def problem(
    exception_class: ExceptionClass = ExceptionClass.DATA_QUALITY,
    *,
    owner_queue: str = "erp-data",
    minutes: int = 0,
    status: ExceptionStatus = ExceptionStatus.OPEN,
) -> BusinessException:
    """A business exception created `minutes` after T0."""
    return BusinessException(
        exception_class=exception_class,
        reason="customer 4711 has no bill-to address",
        owner_queue=owner_queue,
        status=status,
        created_at=T0 + timedelta(minutes=minutes),
    )


def seed(store: Store) -> None:
    """One record in every repository, committed."""
    with store.unit_of_work() as uow:
        uow.xrefs.link(CrossReference("customer", "cust-1", "erp", "E-100"))
        uow.journal.record([delivery("ev-1")])
        uow.lineage.record([LineageEntry("corr-1", "erp", "deliver", "ok", subject="cust-1")])
        uow.exceptions.raise_exception(problem())
        uow.cursors.set("erp.customers", "2024-05-06T08:00:00Z")
        uow.commit()


def holdings(store: Store) -> dict[str, Any]:
    """What `seed` writes, as a fresh unit sees it."""
    with store.unit_of_work() as uow:
        return {
            "xref": uow.xrefs.find_local("customer", "cust-1", "erp"),
            "journal": uow.journal.delivered(FLOW, TARGET, ["ev-1"]),
            "lineage": uow.lineage.find("corr-1"),
            "exceptions": uow.exceptions.list(),
            "cursor": uow.cursors.get("erp.customers"),
        }


# --- unit of work ---


def test_commit_persists_every_repository(store: AnyStore) -> None:
    seed(store)
    seen = holdings(store)
    assert seen["xref"] is not None
    assert seen["journal"] == {"ev-1"}
    assert len(seen["lineage"]) == 1
    assert len(seen["exceptions"]) == 1
    assert seen["cursor"] == "2024-05-06T08:00:00Z"


def test_leaving_the_block_without_commit_discards_everything(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.xrefs.link(CrossReference("customer", "cust-1", "erp", "E-100"))
        uow.journal.record([delivery("ev-1")])
        uow.lineage.record([LineageEntry("corr-1", "erp", "deliver", "ok", subject="cust-1")])
        uow.exceptions.raise_exception(problem())
        uow.cursors.set("erp.customers", "2024-05-06T08:00:00Z")
        assert uow.cursors.get("erp.customers") == "2024-05-06T08:00:00Z"  # a unit sees its own writes
    assert holdings(store) == {
        "xref": None,
        "journal": set(),
        "lineage": [],
        "exceptions": [],
        "cursor": None,
    }


def test_leaving_the_block_on_an_error_discards_everything(store: AnyStore) -> None:
    def fail_mid_unit() -> None:
        with store.unit_of_work() as uow:
            uow.cursors.set("erp.customers", "1")
            raise RuntimeError("connector down")

    with pytest.raises(RuntimeError, match="connector down"):
        fail_mid_unit()
    with store.unit_of_work() as uow:
        assert uow.cursors.get("erp.customers") is None


def test_rollback_discards_and_the_unit_goes_on(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.cursors.set("a", "1")
        uow.rollback()
        assert uow.cursors.get("a") is None
        uow.cursors.set("b", "2")
        uow.commit()
        uow.cursors.set("c", "3")  # after commit the unit starts a new transaction; this one is not committed
    with store.unit_of_work() as uow:
        assert (uow.cursors.get("a"), uow.cursors.get("b"), uow.cursors.get("c")) == (None, "2", None)


def test_changes_are_invisible_to_other_units_until_commit(store: AnyStore) -> None:
    with store.unit_of_work() as writer:
        writer.cursors.set("erp.customers", "42")
        with store.unit_of_work(read_only=True) as reader:
            assert reader.cursors.get("erp.customers") is None
        writer.commit()
    with store.unit_of_work(read_only=True) as reader:
        assert reader.cursors.get("erp.customers") == "42"


def test_a_read_only_unit_refuses_writes(store: AnyStore) -> None:
    with store.unit_of_work(read_only=True) as uow, pytest.raises(UnitOfWorkError, match="read-only"):
        uow.cursors.set("a", "1")


def test_repositories_refuse_work_outside_the_block(store: AnyStore) -> None:
    uow = store.unit_of_work()
    with pytest.raises(UnitOfWorkError, match=r"with store\.unit_of_work"):
        uow.cursors.get("a")
    with uow, pytest.raises(UnitOfWorkError, match="already open"):
        uow.__enter__()
    with pytest.raises(UnitOfWorkError, match="not open"):
        uow.commit()


def test_duplicate_delivery_raises_and_leaves_nothing_of_the_unit(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.journal.record([delivery("ev-1")])
        uow.commit()
    with store.unit_of_work() as uow:
        uow.xrefs.link(CrossReference("customer", "cust-2", "erp", "E-200"))
        uow.cursors.set("erp.customers", "2")
        with pytest.raises(DuplicateDeliveryError):
            uow.journal.record([delivery("ev-2"), delivery("ev-1")])
        # The unit is already rolled back; committing "the rest" must not look like success.
        with pytest.raises(UnitOfWorkError, match="rolled back"):
            uow.commit()
        with pytest.raises(UnitOfWorkError, match="rolled back"):
            uow.cursors.get("erp.customers")
    with store.unit_of_work() as uow:
        assert uow.journal.delivered(FLOW, TARGET, ["ev-1", "ev-2"]) == {"ev-1"}
        assert uow.xrefs.find_local("customer", "cust-2", "erp") is None
        assert uow.cursors.get("erp.customers") is None


def test_duplicate_inside_one_batch_raises(store: AnyStore) -> None:
    with store.unit_of_work() as uow, pytest.raises(DuplicateDeliveryError):
        uow.journal.record([delivery("ev-1"), delivery("ev-1")])
    with store.unit_of_work() as uow:
        assert uow.journal.delivered(FLOW, TARGET, ["ev-1"]) == set()


def test_rollback_after_a_failure_makes_the_unit_usable_again(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.journal.record([delivery("ev-1")])
        uow.commit()
        with pytest.raises(DuplicateDeliveryError):
            uow.journal.record([delivery("ev-1"), delivery("ev-2")])
        uow.rollback()
        skip = uow.journal.delivered(FLOW, TARGET, ["ev-1", "ev-2"])
        uow.journal.record([delivery(e) for e in ["ev-1", "ev-2"] if e not in skip])
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.journal.delivered(FLOW, TARGET, ["ev-1", "ev-2"]) == {"ev-1", "ev-2"}


def test_two_workers_racing_on_one_delivery_journal_it_once(store: AnyStore) -> None:
    """The exactly-once guard: the slower of two concurrent units fails, at record or at commit."""
    outcome: list[BaseException | None] = []

    def second_worker() -> None:
        try:
            with store.unit_of_work() as uow:
                uow.journal.record([delivery("ev-1")])
                uow.commit()
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    with store.unit_of_work() as first:
        first.journal.record([delivery("ev-1")])
        worker = threading.Thread(target=second_worker)
        worker.start()
        time.sleep(0.3)  # the second worker is now waiting for the first (SQL) or holds its own snapshot (memory)
        first.commit()
    worker.join(timeout=30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], DuplicateDeliveryError)


# --- cross-references ---


def test_xref_link_and_both_lookups(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.xrefs.link(CrossReference("customer", "cust-1", "erp", "E-100", written_hash="h1"))
        uow.xrefs.link(CrossReference("customer", "cust-1", "crm", "0015g00000AbC"))
        uow.xrefs.link(CrossReference("item", "cust-1", "erp", "I-1"))  # other entity, same canonical id
        uow.commit()
    with store.unit_of_work() as uow:
        erp = uow.xrefs.find_local("customer", "cust-1", "erp")
        assert erp is not None
        assert (erp.local_id, erp.written_hash) == ("E-100", "h1")
        assert erp.updated_at is not None
        assert erp.updated_at.tzinfo == UTC
        assert uow.xrefs.find_canonical("customer", "crm", "0015g00000AbC") == uow.xrefs.find_local(
            "customer", "cust-1", "crm"
        )
        assert uow.xrefs.find_canonical("customer", "erp", "I-1") is None
        assert uow.xrefs.find_local("customer", "cust-1", "wms") is None
        assert [r.system for r in uow.xrefs.for_canonical("customer", "cust-1")] == ["crm", "erp"]
        assert uow.xrefs.for_canonical("customer", "cust-9") == []


def test_xref_link_updates_the_existing_link(store: AnyStore) -> None:
    later = datetime(2024, 5, 6, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    with store.unit_of_work() as uow:
        uow.xrefs.link(CrossReference("customer", "cust-1", "erp", "E-100", written_hash="h1"))
        uow.commit()
    with store.unit_of_work() as uow:
        uow.xrefs.link(CrossReference("customer", "cust-1", "erp", "E-101", written_hash="h2", updated_at=later))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.xrefs.find_canonical("customer", "erp", "E-100") is None
        moved = uow.xrefs.find_canonical("customer", "erp", "E-101")
        assert moved == CrossReference("customer", "cust-1", "erp", "E-101", "h2", later)
        assert moved.updated_at is not None
        assert moved.updated_at.tzinfo == UTC
        assert len(uow.xrefs.for_canonical("customer", "cust-1")) == 1


def test_xref_local_id_taken_by_another_canonical_object_is_a_conflict(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.xrefs.link(CrossReference("customer", "cust-1", "erp", "E-100"))
        uow.commit()
    with store.unit_of_work() as uow:
        uow.cursors.set("erp.customers", "2")
        with pytest.raises(CrossReferenceConflictError, match="E-100"):
            uow.xrefs.link(CrossReference("customer", "cust-2", "erp", "E-100"))
    with store.unit_of_work() as uow:
        assert uow.xrefs.find_local("customer", "cust-2", "erp") is None
        assert uow.cursors.get("erp.customers") is None


# --- delivery journal ---


def test_journal_delivered_answers_large_batches(store: AnyStore) -> None:
    ids = [f"ev-{i:04d}" for i in range(1200)]
    with store.unit_of_work() as uow:
        uow.journal.record([delivery(e) for e in ids[::2]])
        uow.journal.record([delivery("ev-0001", target="crm"), delivery("ev-0003", flow="flow.orders.erp")])
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.journal.delivered(FLOW, TARGET, ids) == set(ids[::2])
        assert uow.journal.delivered(FLOW, TARGET, ["ev-0000", "ev-0000", "ev-0001"]) == {"ev-0000"}
        assert uow.journal.delivered(FLOW, "crm", ids) == {"ev-0001"}
        assert uow.journal.delivered("flow.orders.erp", TARGET, ids) == {"ev-0003"}
        assert uow.journal.delivered(FLOW, TARGET, []) == set()
        uow.journal.record([])


def test_journal_keeps_every_outcome(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.journal.record(
            [
                Delivery(FLOW, TARGET, "ev-1", "cust-1", DeliveryOutcome.DELIVERED, local_id="E-1", delivered_at=T0),
                Delivery(FLOW, TARGET, "ev-2", "cust-1", DeliveryOutcome.UNCHANGED),
                Delivery(FLOW, TARGET, "ev-3", "cust-2", DeliveryOutcome.QUARANTINED),
            ]
        )
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.journal.delivered(FLOW, TARGET, ["ev-1", "ev-2", "ev-3", "ev-4"]) == {
            "ev-1",
            "ev-2",
            "ev-3",
        }


# --- lineage ---


def test_lineage_find_by_correlation_id_subject_and_business_key(store: AnyStore) -> None:
    hops = [
        LineageEntry(
            "corr-1",
            "crm",
            "capture",
            "ok",
            subject="order-1",
            event_id="ev-1",
            business_keys={"order_number": "4711", "customer_number": "C-9"},
            detail={"fields": ["qty"], "attempt": 1},
            started_at=T0 + timedelta(seconds=2),
            duration_ms=12.5,
        ),
        LineageEntry("corr-1", "core", "govern", "ok", subject="order-1", started_at=T0 + timedelta(seconds=1)),
        LineageEntry("corr-2", "erp", "deliver", "ok", subject="order-2", business_keys={"order_number": "4712"}),
        LineageEntry("corr-3", "erp", "deliver", "failed", subject="cust-C-9", business_keys={"ref": "C-9"}),
    ]
    with store.unit_of_work() as uow:
        uow.lineage.record(hops)
        uow.commit()
    with store.unit_of_work() as uow:
        by_correlation = uow.lineage.find("corr-1")
        assert [h.step for h in by_correlation] == ["govern", "capture"]  # oldest first, not insertion order
        capture = by_correlation[1]
        assert capture.id is not None
        assert capture.business_keys == {"order_number": "4711", "customer_number": "C-9"}
        assert capture.detail == {"fields": ["qty"], "attempt": 1}
        assert (capture.event_id, capture.duration_ms, capture.started_at) == (
            "ev-1",
            12.5,
            T0 + timedelta(seconds=2),
        )
        assert [h.step for h in uow.lineage.find("order-1")] == ["govern", "capture"]
        assert [h.correlation_id for h in uow.lineage.find("4711")] == ["corr-1"]
        assert [h.correlation_id for h in uow.lineage.find("C-9")] == ["corr-1", "corr-3"]
        assert [h.correlation_id for h in uow.lineage.find("4712")] == ["corr-2"]
        assert uow.lineage.find("order_number") == []  # key names are not values
        assert uow.lineage.find("4799") == []
        assert len(uow.lineage.find("corr-1", limit=1)) == 1


def test_lineage_row_matching_several_ways_comes_once(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.lineage.record([LineageEntry("4711", "erp", "deliver", "ok", subject="4711", business_keys={"o": "4711"})])
        uow.lineage.record([])
        uow.commit()
    with store.unit_of_work() as uow:
        found = uow.lineage.find("4711")
        assert len(found) == 1
        assert found[0].started_at is not None
        assert found[0].started_at.tzinfo == UTC


# --- business exceptions ---


def test_exception_round_trip(store: AnyStore) -> None:
    raised = BusinessException(
        exception_class=ExceptionClass.POLICY_VIOLATION,
        reason="CRM changed the credit limit, which ERP owns",
        owner_queue="credit",
        flow="flow.customers.erp",
        system="crm",
        entity="customer",
        subject="cust-1",
        event_id="ev-1",
        correlation_id="corr-1",
        raw_payload='{"CreditLimit__c": 5000}',
        details={"attribute": "credit_limit", "owner_value": 1000, "incoming_value": 5000},
    )
    with store.unit_of_work() as uow:
        first = uow.exceptions.raise_exception(raised)
        second = uow.exceptions.raise_exception(problem())
        uow.commit()
    assert first != second
    with store.unit_of_work() as uow:
        got = uow.exceptions.get(first)
        assert got is not None
        assert got.created_at is not None
        assert got.created_at.tzinfo == UTC
        assert got.updated_at == got.created_at
        assert got.id == first
        assert got == BusinessException(
            **{f: getattr(raised, f) for f in raised.__slots__ if f not in ("id", "created_at", "updated_at")},
            id=first,
            created_at=got.created_at,
            updated_at=got.updated_at,
        )
        assert uow.exceptions.get(first + second + 1000) is None


def test_exception_list_is_newest_first_and_filters(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        ids = [
            uow.exceptions.raise_exception(problem(ExceptionClass.DATA_QUALITY, owner_queue="erp-data", minutes=0)),
            uow.exceptions.raise_exception(problem(ExceptionClass.POLICY_VIOLATION, owner_queue="credit", minutes=2)),
            uow.exceptions.raise_exception(problem(ExceptionClass.DATA_QUALITY, owner_queue="credit", minutes=1)),
            uow.exceptions.raise_exception(
                problem(ExceptionClass.TRANSIENT, owner_queue="ops", minutes=3, status=ExceptionStatus.RESOLVED)
            ),
        ]
        uow.commit()
    with store.unit_of_work() as uow:
        assert [e.id for e in uow.exceptions.list()] == [ids[3], ids[1], ids[2], ids[0]]
        assert [e.id for e in uow.exceptions.list(limit=2)] == [ids[3], ids[1]]
        assert [e.id for e in uow.exceptions.list(status=ExceptionStatus.OPEN)] == [ids[1], ids[2], ids[0]]
        assert [e.id for e in uow.exceptions.list(exception_class=ExceptionClass.DATA_QUALITY)] == [
            ids[2],
            ids[0],
        ]
        assert [e.id for e in uow.exceptions.list(owner_queue="credit")] == [ids[1], ids[2]]
        combined = uow.exceptions.list(
            status=ExceptionStatus.OPEN, exception_class=ExceptionClass.DATA_QUALITY, owner_queue="credit"
        )
        assert [e.id for e in combined] == [ids[2]]
        assert uow.exceptions.list(status=ExceptionStatus.DISMISSED) == []


def test_exception_update_moves_it_and_keeps_a_history(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        exception_id = uow.exceptions.raise_exception(
            BusinessException(ExceptionClass.DATA_QUALITY, "no bill-to", "erp-data", details={"field": "bill_to"})
        )
        uow.commit()
    with store.unit_of_work() as uow:
        uow.exceptions.update(exception_id, status=ExceptionStatus.ASSIGNED, assignee="ana", note="calling the rep")
        uow.commit()
    with store.unit_of_work() as uow:
        uow.exceptions.update(exception_id, status=ExceptionStatus.RESOLVED, note="address added in ERP")
        uow.commit()
    with store.unit_of_work() as uow:
        got = uow.exceptions.get(exception_id)
        assert got is not None
        assert (got.status, got.assignee) == (ExceptionStatus.RESOLVED, "ana")  # no assignee given: kept
        assert got.details["field"] == "bill_to"
        history = got.details["history"]
        assert [(h["status"], h["assignee"], h["note"]) for h in history] == [
            ("assigned", "ana", "calling the rep"),
            ("resolved", "ana", "address added in ERP"),
        ]
        assert datetime.fromisoformat(history[1]["at"]) >= datetime.fromisoformat(history[0]["at"])
        assert got.updated_at is not None
        assert got.created_at is not None
        assert got.updated_at > got.created_at
        uow.exceptions.update(exception_id, status=ExceptionStatus.OPEN)
        reopened = uow.exceptions.get(exception_id)
        assert reopened is not None
        assert "note" not in reopened.details["history"][-1]
        with pytest.raises(UnknownExceptionError):
            uow.exceptions.update(exception_id + 1000, status=ExceptionStatus.DISMISSED)


def test_count_by_class_counts_only_open_and_assigned(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        for exception_class, status in [
            (ExceptionClass.DATA_QUALITY, ExceptionStatus.OPEN),
            (ExceptionClass.DATA_QUALITY, ExceptionStatus.ASSIGNED),
            (ExceptionClass.DATA_QUALITY, ExceptionStatus.RESOLVED),
            (ExceptionClass.POLICY_VIOLATION, ExceptionStatus.OPEN),
            (ExceptionClass.DUPLICATE, ExceptionStatus.DISMISSED),
        ]:
            uow.exceptions.raise_exception(problem(exception_class, status=status))
        assert uow.exceptions.count_by_class() == {"data_quality": 2, "policy_violation": 1}
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.exceptions.count_by_class() == {"data_quality": 2, "policy_violation": 1}


# --- cursors and timestamps ---


def test_cursors_get_and_set(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        assert uow.cursors.get("erp.customers") is None
        uow.cursors.set("erp.customers", "2024-05-06T08:00:00Z")
        uow.cursors.set("crm.contacts", "page-7")
        uow.cursors.set("erp.customers", "2024-05-06T09:00:00Z")
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.cursors.get("erp.customers") == "2024-05-06T09:00:00Z"
        assert uow.cursors.get("crm.contacts") == "page-7"


def test_naive_timestamps_are_refused(store: AnyStore) -> None:
    naive = datetime(2024, 5, 6, 8, 0)  # naive on purpose
    with store.unit_of_work() as uow:
        with pytest.raises(ValueError, match="timezone-aware"):
            uow.xrefs.link(CrossReference("customer", "cust-1", "erp", "E-1", updated_at=naive))
        with pytest.raises(ValueError, match="timezone-aware"):
            uow.lineage.record([LineageEntry("corr-1", "erp", "deliver", "ok", started_at=naive)])
        uow.cursors.set("still", "usable")
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.cursors.get("still") == "usable"


# --- SQL only: schema, migrations, SQLite settings, several processes ---


MIGRATE = """
import sys, time
from crossdock.store.sql import SqlStore
store = SqlStore(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
store.migrate()
store.dispose()
"""

INCREMENT = """
import sys
from crossdock.store.sql import SqlStore
store = SqlStore(sys.argv[1])
for _ in range(int(sys.argv[2])):
    with store.unit_of_work() as uow:
        uow.cursors.set("counter", str(int(uow.cursors.get("counter") or 0) + 1))
        uow.commit()
store.dispose()
"""


def run_processes(script: str, *args_per_process: list[str]) -> None:
    """Run `script` in one Python process per argument list, all at once; each must succeed."""
    processes = [
        subprocess.Popen([sys.executable, "-c", script, *args], stderr=subprocess.PIPE, text=True)
        for args in args_per_process
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr


@pytest.mark.parametrize("database_url", SQL_BACKENDS, indirect=True)
def test_migrate_twice_is_a_noop(database_url: str) -> None:
    store = SqlStore(database_url)
    try:
        store.migrate()
        seed(store)
        before = holdings(store)
        store.migrate()
        with store.engine.connect() as connection:
            assert current_revision(connection) == head_revision()
        assert holdings(store) == before
    finally:
        store.dispose()


@pytest.mark.parametrize("database_url", SQL_BACKENDS, indirect=True)
def test_migrations_build_exactly_the_tables_module(database_url: str) -> None:
    store = SqlStore(database_url)
    try:
        store.migrate()
        with store.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            assert compare_metadata(context, metadata) == []
    finally:
        store.dispose()


@pytest.mark.parametrize("database_url", SQL_BACKENDS, indirect=True)
def test_processes_migrating_at_once_all_succeed(database_url: str) -> None:
    start_at = str(time.time() + 2.0)  # after every process has imported SQLAlchemy
    run_processes(MIGRATE, *([database_url, start_at] for _ in range(4)))
    store = SqlStore(database_url)
    try:
        with store.engine.connect() as connection:
            assert current_revision(connection) == head_revision()
        seed(store)
        assert holdings(store)["journal"] == {"ev-1"}
    finally:
        store.dispose()


def test_sqlite_write_units_from_several_processes_serialise(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: read-then-write units never hit a lock-upgrade deadlock and never lose an update."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    store = SqlStore(url)
    store.migrate()
    run_processes(INCREMENT, *([url, "40"] for _ in range(4)))
    with store.unit_of_work(read_only=True) as uow:
        assert uow.cursors.get("counter") == "160"
    store.dispose()


def test_sqlite_connections_are_durable_and_patient(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
    with store.engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "wal_autocheckpoint")
        }
    store.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 30_000,
        "wal_autocheckpoint": 8_000,  # checkpoints copy hot index pages back once per many order groups
    }


def test_in_memory_sqlite_is_refused_with_a_hint() -> None:
    with pytest.raises(StoreError, match="MemoryStore"):
        SqlStore("sqlite://")


def test_golden_records_are_versioned_and_round_trip(store: AnyStore) -> None:
    document = {"id": "cus_1", "name": "Acme", "credit_limit": {"amount": "5000.00", "currency": "USD"}}
    with store.unit_of_work() as uow:
        assert uow.golden.get("customer", "cus_1") is None
        first = uow.golden.put(GoldenRecord("customer", "cus_1", document, {"name": "crm", "credit_limit": "erp"}))
        uow.commit()
    assert first.version == 1
    with store.unit_of_work() as uow:
        stored = uow.golden.get("customer", "cus_1")
        assert stored is not None
        assert stored.document == document
        assert stored.sources == {"name": "crm", "credit_limit": "erp"}
        second = uow.golden.put(replace(stored, document={**document, "name": "Acme Supply"}))
        uow.rollback()
    assert second.version == 2
    with store.unit_of_work(read_only=True) as uow:
        after_rollback = uow.golden.get("customer", "cus_1")
    assert after_rollback is not None
    assert after_rollback.version == 1
    assert after_rollback.document["name"] == "Acme"


def test_an_exception_with_a_known_dedupe_key_is_not_raised_twice(store: AnyStore) -> None:
    violation = BusinessException(
        exception_class=ExceptionClass.POLICY_VIOLATION,
        reason="crm changed payment_terms, which erp owns",
        owner_queue="finance",
        dedupe_key="ownership:event-1:payment_terms",
    )
    with store.unit_of_work() as uow:
        first = uow.exceptions.raise_exception(violation)
        again = uow.exceptions.raise_exception(violation)
        other = uow.exceptions.raise_exception(replace(violation, dedupe_key=None))
        uow.commit()
    assert again == first
    assert other != first
    with store.unit_of_work() as uow:
        assert uow.exceptions.raise_exception(violation) == first
        assert len(uow.exceptions.list()) == 2
