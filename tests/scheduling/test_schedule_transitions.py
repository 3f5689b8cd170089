"""The session's state machine (OPEN → STOPPED, nothing back): every pair through the one writer."""

from __future__ import annotations

import itertools

import pytest
from tortoise.transactions import in_transaction

from models.errors import InvalidTransition
from models.reactions import change_schedule
from models.scheduling import TRANSITIONS, Schedule, ScheduleStatus, Slot
from tests import factories

S = ScheduleStatus
PAIRS = list(itertools.product(S, S))


async def _session_in(status: ScheduleStatus) -> Schedule:
    session = await factories.session(capacity=2)
    await Schedule.filter(id=session.id).update(status=status)
    return await Schedule.get(id=session.id)


@pytest.mark.parametrize(("current", "target"), PAIRS)
async def test_each_change_of_a_session_is_allowed_exactly_by_the_table(
    current: ScheduleStatus, target: ScheduleStatus
) -> None:
    session = await _session_in(current)
    admin = await factories.admin_user()
    if target in TRANSITIONS[current]:
        async with in_transaction():
            await change_schedule(session, target, actor_id=admin.id, reason="水管爆裂")
        fresh = await Schedule.get(id=session.id)
        assert (fresh.status, fresh.stop_reason) == (target, "水管爆裂")
        assert not await Slot.filter(schedule_id=session.id, bookable=True).exists()
    else:
        with pytest.raises(InvalidTransition):
            async with in_transaction():
                await change_schedule(session, target, actor_id=admin.id, reason="x")
        assert (await Schedule.get(id=session.id)).status is current
    assert len([pair for pair in PAIRS if pair[1] in TRANSITIONS[pair[0]]]) == 1


async def test_a_stale_copy_cannot_stop_a_session_twice() -> None:
    session = await _session_in(S.OPEN)
    stale = await Schedule.get(id=session.id)
    async with in_transaction():
        await change_schedule(session, S.STOPPED, actor_id=None, reason="停电")
    with pytest.raises(InvalidTransition):
        async with in_transaction():
            await change_schedule(stale, S.STOPPED, actor_id=None, reason="again")
    assert (await Schedule.get(id=session.id)).stop_reason == "停电"
