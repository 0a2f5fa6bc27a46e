"""The process repositories of the Store port (instances, journal, signals, actions, outbox) on every backend."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from crossdock.events.envelope import CloudEvent
from crossdock.ports.store import (
    InstanceChange,
    OutboxEntry,
    ProcessAction,
    ProcessInstance,
    ProcessSignal,
    ProcessState,
    ProcessStep,
    StepKind,
    StepStatus,
)
from crossdock.store import MemoryStore, SqlStore

AnyStore = MemoryStore | SqlStore
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
VERSIONS = [("quote_to_order", 1)]


def instance(key: str, *, state: ProcessState = ProcessState.RUNNABLE, **fields: object) -> ProcessInstance:
    values: dict[str, object] = {"wake_at": T0, "input": {"order": key, "lines": [1, 2]}, "created_at": T0}
    values.update(fields)
    return ProcessInstance(
        id=str(uuid.uuid4()),
        definition="quote_to_order",
        version=1,
        business_key=key,
        state=state,
        **values,  # type: ignore[arg-type]
    )


def create(store: AnyStore, new: ProcessInstance) -> bool:
    with store.unit_of_work() as uow:
        created = uow.processes.create(new)
        uow.commit()
    return created


def claim(store: AnyStore, owner: str, now: datetime, limit: int = 10) -> list[ProcessInstance]:
    with store.unit_of_work() as uow:
        claimed = uow.processes.claim(
            owner=owner, now=now, lease_until=now + timedelta(seconds=30), versions=VERSIONS, limit=limit
        )
        uow.commit()
    return claimed


def test_an_instance_round_trips(store: AnyStore) -> None:
    new = instance("SO-1", correlation_id="corr-1", result={"sale": 7}, error="none yet")
    assert create(store, new)
    with store.unit_of_work(read_only=True) as uow:
        found = uow.processes.get(new.id)
        by_key = uow.processes.find("quote_to_order", "SO-1")
    assert found is not None
    assert found == by_key
    assert (found.input, found.result, found.error, found.correlation_id) == (
        {"order": "SO-1", "lines": [1, 2]},
        {"sale": 7},
        "none yet",
        "corr-1",
    )
    assert found.wake_at == T0
    assert found.lease_token == 0
    assert found.state is ProcessState.RUNNABLE


def test_only_one_live_instance_per_definition_and_key(store: AnyStore) -> None:
    first = instance("SO-2")
    assert create(store, first)
    assert not create(store, instance("SO-2"))
    assert create(store, instance("SO-3"))
    with store.unit_of_work() as uow:
        done = uow.processes.get(first.id)
        assert done is not None
        uow.processes.update(ProcessInstance(**{**_fields(done), "state": ProcessState.COMPLETED}))
        uow.commit()
    again = instance("SO-2")
    assert create(store, again), "a finished instance does not hold the key"
    with store.unit_of_work(read_only=True) as uow:
        found = uow.processes.find("quote_to_order", "SO-2")
        listed = uow.processes.list(business_key="SO-2")
    assert found is not None
    assert found.id == again.id, "the live one is found first"
    assert {i.id for i in listed} == {first.id, again.id}


def test_concurrent_creates_leave_one_live_instance(store: AnyStore) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def attempt() -> None:
        barrier.wait()
        results.append(create(store, instance("SO-RACE")))

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]


def test_claim_takes_due_instances_under_a_lease(store: AnyStore) -> None:
    due = instance("SO-4", wake_at=T0 - timedelta(seconds=5))
    later = instance("SO-5", wake_at=T0 + timedelta(hours=1))
    failed = instance("SO-6", state=ProcessState.FAILED)
    other_version = ProcessInstance(**{**_fields(instance("SO-7")), "version": 2})
    for new in (due, later, failed, other_version):
        assert create(store, new)

    claimed = claim(store, "worker-1", T0)
    assert [i.id for i in claimed] == [due.id]
    assert claimed[0].owner == "worker-1"
    assert claimed[0].state is ProcessState.RUNNING
    assert claimed[0].lease_token == 1
    assert claimed[0].lease_until == T0 + timedelta(seconds=30)
    assert claim(store, "worker-2", T0 + timedelta(seconds=10)) == [], "the lease holds"

    retaken = claim(store, "worker-2", T0 + timedelta(seconds=31))
    assert [(i.id, i.owner, i.lease_token) for i in retaken] == [(due.id, "worker-2", 2)], "expired: taken over"


def test_claim_respects_the_limit_and_wake_order(store: AnyStore) -> None:
    made = [instance(f"SO-L{n}", wake_at=T0 - timedelta(seconds=n)) for n in range(5)]
    for new in made:
        create(store, new)
    first = claim(store, "worker-1", T0, limit=2)
    assert [i.business_key for i in first] == ["SO-L4", "SO-L3"]
    rest = claim(store, "worker-2", T0, limit=10)
    assert sorted(i.business_key for i in rest) == ["SO-L0", "SO-L1", "SO-L2"]


def test_fence_tells_held_from_lost_leases_and_renews(store: AnyStore) -> None:
    create(store, instance("SO-8"))
    (held,) = claim(store, "worker-1", T0)
    with store.unit_of_work() as uow:
        assert uow.processes.fence({held.id: held.lease_token}, lease_until=None, now=T0) == {held.id}
        assert uow.processes.fence({held.id: held.lease_token - 1}, lease_until=None, now=T0) == set()
        renewed_until = T0 + timedelta(minutes=5)
        assert uow.processes.fence({held.id: held.lease_token}, lease_until=renewed_until, now=T0) == {held.id}
        assert uow.processes.fence({held.id: 99, "missing": 1}, lease_until=renewed_until, now=T0) == set()
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        current = uow.processes.get(held.id)
    assert current is not None
    assert current.lease_until == renewed_until


def test_journal_rows_are_saved_replaced_and_read_in_order(store: AnyStore) -> None:
    new = instance("SO-9")
    create(store, new)
    started = ProcessStep(new.id, 2, "create_sale", StepKind.STEP, StepStatus.STARTED, compensable=True, started_at=T0)
    first = ProcessStep(
        new.id, 1, "check_credit", StepKind.STEP, StepStatus.COMPLETED, 1, result={"ok": True}, finished_at=T0
    )
    with store.unit_of_work() as uow:
        uow.processes.save_steps([started, first])
        uow.commit()
    done = ProcessStep(
        new.id,
        2,
        "create_sale",
        StepKind.STEP,
        StepStatus.COMPLETED,
        2,
        outages=1,
        result=[1, "two", None],
        compensable=True,
        wake_at=T0,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=1),
    )
    now_row = ProcessStep(new.id, 3, "now", StepKind.NOW, StepStatus.COMPLETED, result="2026-11-02T08:00:00+00:00")
    numbers = ProcessStep(new.id, 4, "count", StepKind.STEP, StepStatus.COMPLETED, result=42)
    with store.unit_of_work() as uow:
        uow.processes.save_steps([done, now_row, numbers])
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        journal = uow.processes.steps([new.id, "unknown"])
    assert journal["unknown"] == []
    assert journal[new.id] == [first, done, now_row, numbers]


def test_changes_move_state_and_release_the_lease(store: AnyStore) -> None:
    create(store, instance("SO-10"))
    create(store, instance("SO-11"))
    claimed = {i.business_key: i for i in claim(store, "worker-1", T0)}
    one, two = claimed["SO-10"], claimed["SO-11"]
    changes = [
        InstanceChange(one.id, ProcessState.WAITING, wake_at=T0 + timedelta(days=3), wait_type="ack", wait_key="PO-1"),
        InstanceChange(two.id, ProcessState.COMPENSATING, wake_at=T0, error="step failed", release=False),
    ]
    with store.unit_of_work() as uow:
        uow.processes.change(changes, now=T0)
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        waiting, compensating = uow.processes.get(one.id), uow.processes.get(two.id)
    assert waiting is not None
    assert compensating is not None
    assert (waiting.state, waiting.owner, waiting.lease_until, waiting.wait_key) == (
        ProcessState.WAITING,
        None,
        None,
        "PO-1",
    )
    assert (compensating.state, compensating.owner, compensating.error) == (
        ProcessState.COMPENSATING,
        "worker-1",
        "step failed",
    )
    with store.unit_of_work() as uow:
        uow.processes.change([InstanceChange(one.id, ProcessState.COMPLETED, result={"ok": 1})], now=T0)
        uow.commit()
    assert create(store, instance("SO-10")), "completed through a change: the key is free again"


def test_signals_wait_in_a_mailbox_wake_waiters_and_are_consumed_once(store: AnyStore) -> None:
    create(store, instance("SO-12"))
    (waiter,) = claim(store, "worker-1", T0)
    with store.unit_of_work() as uow:
        uow.processes.change(
            [
                InstanceChange(
                    waiter.id, ProcessState.WAITING, wake_at=T0 + timedelta(days=1), wait_type="ack", wait_key="PO-2"
                )
            ],
            now=T0,
        )
        uow.commit()
    assert claim(store, "worker-1", T0 + timedelta(seconds=1)) == []

    signal = ProcessSignal("evt-1", "ack", "PO-2", {"accepted": True})
    with store.unit_of_work() as uow:
        assert uow.processes.add_signal(signal, now=T0 + timedelta(seconds=2))
        assert not uow.processes.add_signal(signal, now=T0 + timedelta(seconds=3))
        uow.processes.add_signal(ProcessSignal("evt-2", "ack", "PO-2", {"accepted": False}), now=T0 + timedelta(3))
        uow.commit()
    (woken,) = claim(store, "worker-1", T0 + timedelta(seconds=4))
    assert woken.id == waiter.id

    with store.unit_of_work() as uow:
        taken = uow.processes.take_signal("ack", "PO-2", instance_id=waiter.id, seq=3, now=T0)
        second = uow.processes.take_signal("ack", "PO-2", instance_id=waiter.id, seq=4, now=T0)
        none = uow.processes.take_signal("ack", "PO-2", instance_id=waiter.id, seq=5, now=T0)
        uow.commit()
    assert taken is not None
    assert second is not None
    assert (taken.event_id, taken.payload, taken.consumed_seq) == ("evt-1", {"accepted": True}, 3)
    assert second.event_id == "evt-2"
    assert none is None
    with store.unit_of_work(read_only=True) as uow:
        assert [s.event_id for s in uow.processes.signals(consumed_by=waiter.id)] == ["evt-1", "evt-2"]


def test_a_waiting_instance_with_an_unconsumed_signal_is_due(store: AnyStore) -> None:
    create(store, instance("SO-13"))
    (waiter,) = claim(store, "worker-1", T0)
    with store.unit_of_work() as uow:
        # The signal first (as if delivered while the instance was between its look and its wait) ...
        uow.processes.add_signal(ProcessSignal("evt-3", "ack", "PO-3", {}), now=T0)
        # ... then the wait: deliver's wake-up missed it, the claim must not.
        uow.processes.change(
            [
                InstanceChange(
                    waiter.id, ProcessState.WAITING, wake_at=T0 + timedelta(days=1), wait_type="ack", wait_key="PO-3"
                )
            ],
            now=T0,
        )
        uow.commit()
    assert [i.id for i in claim(store, "worker-2", T0 + timedelta(seconds=1))] == [waiter.id]


def test_operator_actions_are_kept_in_order(store: AnyStore) -> None:
    new = instance("SO-14")
    create(store, new)
    with store.unit_of_work() as uow:
        uow.processes.record_action(ProcessAction(new.id, "retry", "ops-anna", "credit lifted", {"steps": ["a"]}, T0))
        uow.processes.record_action(ProcessAction(new.id, "cancel", "ops-ben", "withdrawn", at=T0))
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        actions = uow.processes.actions(new.id)
    assert [(a.action, a.actor, a.reason, a.details) for a in actions] == [
        ("retry", "ops-anna", "credit lifted", {"steps": ["a"]}),
        ("cancel", "ops-ben", "withdrawn", {}),
    ]


def test_the_outbox_keeps_order_ignores_repeats_and_marks_published(store: AnyStore) -> None:
    new = instance("SO-15")
    create(store, new)
    events = [
        CloudEvent(
            type="crossdock.order.accepted.v1",
            source="/processes/quote_to_order",
            subject="order-15",
            data={"n": n, "lines": [{"sku": "A-1", "qty": "2"}]},
            id=f"evt-{n}",
            correlationid="corr-15",
            businesskeys={"order": "SO-15"},
        )
        for n in range(3)
    ]
    with store.unit_of_work() as uow:
        uow.outbox.add([OutboxEntry(events[0], new.id, 1), OutboxEntry(events[1], new.id, 1)])
        uow.commit()
    with store.unit_of_work() as uow:
        uow.outbox.add([OutboxEntry(events[1], new.id, 1), OutboxEntry(events[2], new.id, 2)])
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        pending = uow.outbox.pending()
    assert [e.event for e in pending] == events
    assert [(e.instance_id, e.seq) for e in pending] == [(new.id, 1), (new.id, 1), (new.id, 2)]
    with store.unit_of_work() as uow:
        uow.outbox.mark_published(["evt-0", "evt-1"], now=T0)
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert [e.event.id for e in uow.outbox.pending(limit=10)] == ["evt-2"]


def _fields(found: ProcessInstance) -> dict[str, object]:
    return {name: getattr(found, name) for name in ProcessInstance.__dataclass_fields__}


def test_an_instances_emitted_events_are_read_back_in_order_published_or_not(store: AnyStore) -> None:
    events = [
        OutboxEntry(CloudEvent(type="crossdock.order.accepted.v1", source="/p", subject="o1", data={"n": n}), "i1", n)
        for n in range(3)
    ]
    other = OutboxEntry(CloudEvent(type="crossdock.order.accepted.v1", source="/p", subject="o2", data={}), "i2", 0)
    with store.unit_of_work() as uow:
        uow.outbox.add([*events, other])
        uow.commit()
    with store.unit_of_work() as uow:
        uow.outbox.mark_published([events[0].event.id], now=T0)
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        found = uow.outbox.for_instance("i1")
    assert [e.event.data["n"] for e in found] == [0, 1, 2]
    assert found[0].published_at == T0
