"""The console's repositories of the Store port (users, sessions, replay requests, audit trail, dashboard queries)
on every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from crossdock.ports.console import AuditEntry, ConsoleRole, ConsoleSession, ConsoleUser, ReplayRequest, ReplayState
from crossdock.ports.partners import DocumentDirection, PartnerDocument
from crossdock.ports.store import CrossReference, LineageEntry
from crossdock.store import MemoryStore, SqlStore

AnyStore = MemoryStore | SqlStore
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
OPERATOR, APPROVER = ConsoleRole.OPERATOR, ConsoleRole.APPROVER


def user(name: str, *roles: ConsoleRole) -> ConsoleUser:
    return ConsoleUser(name, f"scrypt$hash-of-{name}", frozenset(roles), display_name=name.title(), created_at=T0)


def session(token: str, name: str, expires: datetime) -> ConsoleSession:
    return ConsoleSession(f"sha-{token}", name, f"csrf-{token}", T0, expires)


def replay(dead_letter_id: int, *, by: str = "ana", attempts: int = 3) -> ReplayRequest:
    return ReplayRequest(
        dead_letter_id=dead_letter_id,
        group="flow.customers.erp",
        event_id=f"ev-{dead_letter_id}",
        event_type="crossdock.customer.updated.v1",
        subject="cus_1",
        dead_attempts=attempts,
        state=ReplayState.REQUESTED,
        requested_by=by,
        second_person_required=True,
        flow="customers",
        reason="ERP was down",
        requested_at=T0,
    )


def test_users_are_unique_by_name_and_updated_and_removed_with_their_sessions(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        assert uow.console.add_user(user("ana", OPERATOR)) is True
        assert uow.console.add_user(user("ana", APPROVER)) is False
        assert uow.console.add_user(user("bo", OPERATOR, APPROVER)) is True
        uow.console.add_session(session("t1", "ana", T0 + timedelta(hours=1)))
        uow.commit()
    with store.unit_of_work() as uow:
        assert [u.username for u in uow.console.list_users()] == ["ana", "bo"]
        assert uow.console.get_user("bo") == user("bo", OPERATOR, APPROVER)
        changed = replace(user("ana", APPROVER), password_hash="scrypt$new")
        assert uow.console.update_user(changed) is True
        assert uow.console.update_user(user("cy", OPERATOR)) is False
        uow.commit()
    with store.unit_of_work() as uow:
        ana = uow.console.get_user("ana")
        assert ana is not None
        assert (ana.password_hash, ana.roles, ana.created_at) == ("scrypt$new", frozenset({APPROVER}), T0)
        assert uow.console.get_session("sha-t1", now=T0) is not None
        assert uow.console.remove_user("ana") is True
        assert uow.console.remove_user("ana") is False
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.console.get_user("ana") is None
        assert uow.console.get_session("sha-t1", now=T0) is None


def test_sessions_expire_and_are_purged(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.console.add_user(user("ana", OPERATOR))
        uow.console.add_session(session("short", "ana", T0 + timedelta(minutes=5)))
        uow.console.add_session(session("long", "ana", T0 + timedelta(hours=8)))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.console.get_session("sha-short", now=T0) == session("short", "ana", T0 + timedelta(minutes=5))
        assert uow.console.get_session("sha-short", now=T0 + timedelta(minutes=5)) is None
        assert uow.console.get_session("sha-unknown", now=T0) is None
        assert uow.console.purge_sessions(now=T0 + timedelta(hours=1)) == 1
        uow.console.remove_session("sha-long")
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.console.get_session("sha-long", now=T0) is None


def test_a_dead_letter_has_one_open_replay_request_and_moves_by_compare_and_set(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        first = uow.console.add_replay(replay(7))
        assert first is not None
        assert uow.console.add_replay(replay(7, by="bo")) is None  # already requested
        other = uow.console.add_replay(replay(8))
        uow.commit()
    approved = replace(replay(7), id=first, state=ReplayState.APPROVED, decided_by="bo", decided_at=T0)
    with store.unit_of_work() as uow:
        assert uow.console.move_replay(approved, expected=ReplayState.REQUESTED) is True
        uow.commit()
    with store.unit_of_work() as uow:
        # A second approver, or a second executor, finds the state moved on and changes nothing.
        assert uow.console.move_replay(approved, expected=ReplayState.REQUESTED) is False
        done = replace(
            approved, state=ReplayState.REPLAYED, replayed_at=T0 + timedelta(seconds=2), outcome="handed back"
        )
        assert uow.console.move_replay(done, expected=ReplayState.APPROVED) is True
        uow.commit()
    with store.unit_of_work() as uow:
        stored = uow.console.get_replay(first)
        assert stored == replace(done, requested_at=T0)
        # Replayed, it is no longer open: the same dead letter, dead again, can be asked for once more.
        again = uow.console.add_replay(replay(7, attempts=4))
        assert again is not None
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert [r.id for r in uow.console.list_replays()] == [again, other, first]
        assert [r.id for r in uow.console.list_replays(states=[ReplayState.REQUESTED])] == [again, other]
        assert [r.id for r in uow.console.list_replays(dead_letter_id=7)] == [again, first]
        assert uow.console.get_replay(10_000) is None


def test_the_audit_trail_is_newest_first_and_filters_by_record(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.console.record_audit(AuditEntry("ana", "login", "session", "ana", at=T0))
        uow.console.record_audit(
            AuditEntry("ana", "exception.assign", "exception", "12", {"assignee": "bo"}, at=T0 + timedelta(seconds=1))
        )
        uow.console.record_audit(AuditEntry("bo", "replay.approve", "replay", "3", at=T0 + timedelta(seconds=2)))
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert [e.action for e in uow.console.audit()] == ["replay.approve", "exception.assign", "login"]
        [assign] = uow.console.audit(target_kind="exception", target_id="12")
        assert (assign.actor, assign.details, assign.at) == ("ana", {"assignee": "bo"}, T0 + timedelta(seconds=1))
        assert [e.action for e in uow.console.audit(limit=1)] == ["replay.approve"]


def test_dashboard_queries_read_time_windows_and_links(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.lineage.record(
            [
                LineageEntry("c1", "crm", "capture.customer", "captured", "cus_1", started_at=T0 + timedelta(minutes=m))
                for m in (0, 10, 20, 30)
            ]
        )
        for reference, minutes in (("PO-1", 0), ("PO-2", 90)):
            uow.partners.record(
                PartnerDocument(
                    "acme",
                    DocumentDirection.OUTBOUND,
                    "850",
                    reference,
                    "1",
                    payload=b"ISA",
                    at=T0 + timedelta(minutes=minutes),
                )
            )
        uow.xrefs.link(CrossReference("customer", "cus_1", "crm", "001"))
        uow.xrefs.link(CrossReference("customer", "cus_1", "erp", "17"))
        uow.xrefs.link(CrossReference("customer", "cus_2", "crm", "002"))
        uow.xrefs.link(CrossReference("item", "itm_1", "erp", "5"))
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        window = uow.operations.lineage_since(T0 + timedelta(minutes=10))
        assert [e.started_at for e in window] == [T0 + timedelta(minutes=m) for m in (10, 20, 30)]
        newest = uow.operations.lineage_since(T0, limit=2)
        assert [e.started_at for e in newest] == [T0 + timedelta(minutes=m) for m in (20, 30)]
        [late] = uow.operations.partner_documents_since("850", T0 + timedelta(hours=1))
        assert (late.reference, late.payload) == ("PO-2", None)
        assert uow.operations.partner_documents_since("855", T0) == []
        assert uow.operations.linked_systems("customer") == {"cus_1": {"crm", "erp"}, "cus_2": {"crm"}}
