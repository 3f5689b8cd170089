"""The waitlist entry's state machine: every allowed and every forbidden change, through the one writer
(with its reactions), exactly once."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from tortoise.transactions import in_transaction

from models.clock import utcnow
from models.errors import InvalidTransition
from models.reactions import move_entry
from models.waitlist.entries import ACTIVE, TRANSITIONS, WaitlistEntry, WaitlistMode, WaitlistStatus
from tests import factories

W = WaitlistStatus
PAIRS = list(itertools.product(W, W))
ALLOWED = [(a, b) for a, b in PAIRS if b in TRANSITIONS[a]]
FORBIDDEN = [(a, b) for a, b in PAIRS if b not in TRANSITIONS[a]]


async def _entry_in(status: WaitlistStatus) -> WaitlistEntry:
    holder = await factories.patient_user()
    person = await factories.patient(holder)
    session = await factories.session(capacity=1, starts_in=timedelta(days=2))
    now = utcnow()
    return await WaitlistEntry.create(
        account_id=holder.id,
        patient_id=person.id,
        schedule_id=session.id,
        department_id=session.department_id,
        visit_date=session.date,
        mode=WaitlistMode.OFFER,
        status=status,
        deadline=now + timedelta(days=1),
        active_key=f"{person.id}:s{session.id}" if status in ACTIVE else None,
        joined_at=now,
    )


async def test_every_allowed_change_moves_the_entry_once_and_frees_its_place_when_it_ends() -> None:
    for current, target in ALLOWED:
        entry = await _entry_in(current)
        stale = await WaitlistEntry.get(id=entry.id)

        async with in_transaction():
            await move_entry(entry, target, reason="walked by the test")

        fresh = await WaitlistEntry.get(id=entry.id)
        assert fresh.status is target, (current, target)
        if target in ACTIVE:
            assert fresh.active_key is not None, (current, target)
        else:
            assert (fresh.active_key, fresh.ended_reason) == (None, "walked by the test"), (current, target)
        with pytest.raises(InvalidTransition):  # a second worker with the same read loses
            async with in_transaction():
                await move_entry(stale, target)
    assert len(ALLOWED) == 10


async def test_every_forbidden_change_is_a_typed_error_and_changes_nothing() -> None:
    entries = {status: await _entry_in(status) for status in W}
    for current, target in FORBIDDEN:
        with pytest.raises(InvalidTransition) as refused:
            async with in_transaction():
                await move_entry(entries[current], target)
        assert refused.value.details == {
            "entity": "waitlist entry",
            "from_status": current.value,
            "to_status": target.value,
        }
        assert (await WaitlistEntry.get(id=entries[current].id)).status is current
    assert len(FORBIDDEN) == 26


async def test_updates_can_never_carry_the_status() -> None:
    entry = await _entry_in(W.WAITING)
    with pytest.raises(ValueError, match="status"):
        async with in_transaction():
            await move_entry(entry, W.LEFT, status=W.BOOKED)
    assert (await WaitlistEntry.get(id=entry.id)).status is W.WAITING
