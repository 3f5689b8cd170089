"""Every allowed and forbidden change of a ticket's state, and the booking status that follows."""

from __future__ import annotations

import itertools

import pytest
from tortoise.transactions import in_transaction

from models.booking import Booking, BookingStatus
from models.clock import utcnow
from models.errors import InvalidTransition
from models.queueing import BOOKING_FOLLOWS, LIVE, TRANSITIONS, QueueTicket, TicketState
from models.reactions import change_ticket
from tests import factories
from tests.queueing.conftest import Clinic

T = TicketState
B = BookingStatus

# The booking status that goes with a ticket in each state.
BOOKING_WHILE: dict[TicketState, BookingStatus] = {
    T.WAITING: B.CHECKED_IN,
    T.CALLED: B.CHECKED_IN,
    T.SKIPPED: B.CHECKED_IN,
    T.IN_CONSULTATION: B.IN_CONSULTATION,
    T.DONE: B.COMPLETED,
    T.TRANSFERRED: B.CHECKED_IN,
}


def test_the_table_is_the_one_documented() -> None:
    assert {state: set(targets) for state, targets in TRANSITIONS.items()} == {
        T.WAITING: {T.CALLED, T.TRANSFERRED},
        T.CALLED: {T.IN_CONSULTATION, T.SKIPPED, T.TRANSFERRED},
        T.IN_CONSULTATION: {T.DONE, T.WAITING, T.TRANSFERRED},
        T.SKIPPED: {T.WAITING, T.TRANSFERRED},
        T.DONE: set(),
        T.TRANSFERRED: set(),
    }


async def _ticket_in(clinic: Clinic, state: TicketState) -> QueueTicket:
    booking = await factories.confirmed_booking(clinic.schedule)
    await Booking.filter(id=booking.id).update(status=BOOKING_WHILE[state])
    return await QueueTicket.create(
        booking_id=booking.id,
        room_id=clinic.room_id,
        department_id=clinic.department_id,
        account_id=booking.account_id,
        visit_date=booking.visit_date,
        label=f"A{booking.queue_number:03d}",
        number=booking.queue_number,
        display_name="张*三",
        state=state,
        rank=booking.queue_number * 1000,
        checked_in_at=utcnow(),
        live_booking_key=booking.id if state in LIVE else None,
    )


async def test_every_pair_of_states_is_allowed_or_refused_as_the_table_says(clinic: Clinic) -> None:
    outcomes: dict[tuple[TicketState, TicketState], str] = {}
    for current, target in itertools.product(TicketState, TicketState):
        ticket = await _ticket_in(clinic, current)
        try:
            async with in_transaction():
                await change_ticket(ticket, target, actor_id=None)
        except InvalidTransition:
            outcomes[(current, target)] = "refused"
            assert (await QueueTicket.get(id=ticket.id)).state is current
            continue
        outcomes[(current, target)] = "allowed"
        stored = await QueueTicket.get(id=ticket.id)
        booking = await Booking.get(id=stored.booking_id)
        assert stored.state is target
        assert booking.status is BOOKING_FOLLOWS.get((current, target), BOOKING_WHILE[current])
        assert (stored.live_booking_key is None) is (target not in LIVE)

    expected = {
        (current, target): "allowed" if target in TRANSITIONS[current] else "refused"
        for current, target in itertools.product(TicketState, TicketState)
    }
    assert outcomes == expected


async def test_the_loser_of_a_race_gets_invalid_transition_not_a_second_change(clinic: Clinic) -> None:
    ticket = await _ticket_in(clinic, T.IN_CONSULTATION)
    stale_copy = await QueueTicket.get(id=ticket.id)
    async with in_transaction():
        await change_ticket(ticket, T.DONE, actor_id=None)

    with pytest.raises(InvalidTransition) as refused:
        async with in_transaction():
            await change_ticket(stale_copy, T.DONE, actor_id=None)

    assert (refused.value.from_status, refused.value.to_status) == ("done", "done")
