"""Replays of dead letters: preview, the approval rule, exactly one hand-back per request, the audit trail."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crossdock.console.replay import ReplayError, ReplayService, is_unfinished
from crossdock.ports.console import ReplayState
from crossdock.ports.store import Delivery, DeliveryOutcome, GoldenRecord
from tests.unit.console.conftest import PLAIN, SENSITIVE, Console

ACME = {"id": "cus_1", "number": "C-1", "name": "Acme Supply", "payment_terms": "NET30", "email": "ap@acme.example"}


async def test_the_preview_compares_the_target_with_the_payload_and_reads_the_journal(console: Console) -> None:
    letter = await console.dead_letter(SENSITIVE, "cus_1", ACME)
    with console.store.unit_of_work() as uow:
        uow.golden.put(GoldenRecord("customer", "cus_1", ACME, views={"crm": {**ACME, "payment_terms": "NET60"}}))
        uow.commit()
    preview = await ReplayService(console.context).preview(letter.id)
    assert preview.second_person_required is True
    [target] = preview.targets
    assert (target.system, target.journaled, target.current_known, target.deliveries) == ("crm", False, True, 0)
    assert [(d.name, d.current, d.payload) for d in target.changed] == [("payment_terms", "NET60", "NET30")]
    assert "Writes 1 changed attribute" in target.effect
    with console.store.unit_of_work() as uow:
        uow.journal.record(
            [Delivery(SENSITIVE.name, "crm", letter.event.id, "cus_1", DeliveryOutcome.DELIVERED, "001")]
        )
        uow.commit()
    [journaled] = (await ReplayService(console.context).preview(letter.id)).targets
    assert journaled.journaled is True
    assert "without writing again" in journaled.effect


async def test_a_sensitive_flow_needs_a_second_person_and_is_handed_back_once(console: Console) -> None:
    service = ReplayService(console.context)
    letter = await console.dead_letter(SENSITIVE, "cus_1", ACME)
    [request] = await service.request([letter.id], actor="ana", reason="CRM was down")
    assert (request.state, request.second_person_required, request.dead_attempts) == (
        ReplayState.REQUESTED,
        True,
        letter.attempts,
    )
    with pytest.raises(ReplayError, match="already has an open replay request"):
        await service.request([letter.id], actor="cy", reason=None)
    with pytest.raises(ReplayError, match="another approver"):
        await service.approve(request.id or 0, actor="ana")
    assert (await console.log.dead_letters()) != []  # nothing handed back by the refusal
    done = await service.approve(request.id or 0, actor="bo", note="checked with the CRM team")
    assert (done.state, done.decided_by, done.outcome) == (ReplayState.REPLAYED, "bo", f"handed back to {letter.group}")
    assert await console.log.dead_letters() == []
    [again] = await console.log.fetch(letter.group, "runner", wait_s=0.1)
    assert again.event.id == letter.event.id
    # Executing the request again (a second executor, a sweep) hands back nothing more.
    assert await service.execute(replace(done, state=ReplayState.APPROVED)) is False
    assert await service.execute_approved() == 0
    with console.store.unit_of_work(read_only=True) as uow:
        actions = [(e.actor, e.action) for e in reversed(uow.console.audit(target_kind="replay"))]
    assert actions == [
        ("ana", "replay.request"),
        ("ana", "replay.approve.refused"),
        ("bo", "replay.approve"),
        ("crossdock", "replay.execute"),
    ]


async def test_an_approval_whose_executor_stopped_is_executed_by_the_sweep_once(console: Console) -> None:
    service = ReplayService(console.context)
    letter = await console.dead_letter(SENSITIVE, "cus_1", ACME)
    [request] = await service.request([letter.id], actor="ana", reason=None)
    approved = replace(request, state=ReplayState.APPROVED, decided_by="bo")
    with console.store.unit_of_work() as uow:  # the approval committed; its console died before executing it
        assert uow.console.move_replay(approved, expected=ReplayState.REQUESTED)
        uow.commit()
    assert await service.execute_approved() == 1
    assert await service.execute_approved() == 0
    assert (await service.get(request.id or 0)).state is ReplayState.REPLAYED
    assert await console.log.dead_letters() == []


async def test_a_claimed_request_whose_hand_back_never_ran_is_not_handed_back_by_anyone_else(
    console: Console,
) -> None:
    service = ReplayService(console.context)
    letter = await console.dead_letter(SENSITIVE, "cus_1", ACME)
    [request] = await service.request([letter.id], actor="ana", reason=None)
    claimed = replace(request, state=ReplayState.REPLAYED, decided_by="bo", outcome="handing back")
    with console.store.unit_of_work() as uow:  # claimed, then the process died before the log call
        assert uow.console.move_replay(claimed, expected=ReplayState.REQUESTED)
        uow.commit()
    assert await service.execute_approved() == 0
    stored = await service.get(request.id or 0)
    assert is_unfinished(stored)
    assert [d.id for d in await console.log.dead_letters()] == [letter.id]  # still there, visibly: request again
    [fresh] = await service.request([letter.id], actor="ana", reason="again")
    assert fresh.id != request.id


async def test_a_dead_letter_that_changed_since_the_request_is_not_handed_back(console: Console) -> None:
    service = ReplayService(console.context)
    letter = await console.dead_letter(SENSITIVE, "cus_1", ACME)
    [request] = await service.request([letter.id], actor="ana", reason=None)
    # Someone handed it back by hand meanwhile, and it failed again: one attempt more.
    await console.log.redeliver([letter.id])
    [logged] = await console.log.fetch(letter.group, "runner", wait_s=0.1)
    await console.log.dead_letter(letter.group, "runner", logged, error="transient: still down")
    done = await service.approve(request.id or 0, actor="bo")
    assert done.outcome is not None
    assert "changed since it was requested" in done.outcome
    assert len(await console.log.dead_letters()) == 1


async def test_a_flow_that_is_not_sensitive_is_handed_back_on_request(console: Console) -> None:
    service = ReplayService(console.context)
    letter = await console.dead_letter(PLAIN, "itm_1", {"id": "itm_1", "sku": "SKU-1"})
    [request] = await service.request([letter.id], actor="cy", reason="fixed the mapping")
    assert (request.state, request.decided_by, request.second_person_required) == (ReplayState.REPLAYED, "cy", False)
    assert await console.log.dead_letters() == []


async def test_a_dead_letter_no_longer_queued_cannot_be_requested_or_previewed(console: Console) -> None:
    service = ReplayService(console.context)
    letter = await console.dead_letter(PLAIN, "itm_1", {"id": "itm_1", "sku": "SKU-1"})
    await console.log.redeliver([letter.id])
    with pytest.raises(ReplayError, match="no longer in the queue"):
        await service.request([letter.id], actor="cy", reason=None)
    with pytest.raises(ReplayError, match="no longer in the queue"):
        await service.preview(letter.id)
