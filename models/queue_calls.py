"""A doctor's calls on the room queue: call the next patient, send one back after tests, restore a
skipped one, transfer one to another room. Each changes ticket state through models/reactions.py, so
the booking follows in the same transaction."""

from __future__ import annotations

from datetime import datetime

from models.errors import InvalidTransition
from models.queueing import (
    NothingToCall,
    QueueRules,
    QueueTicket,
    TicketState,
    reentry_rank,
    waiting_in_order,
)
from models.reactions import change_ticket

T = TicketState


async def return_after_tests(ticket: QueueTicket, rules: QueueRules, *, actor_id: int | None) -> QueueTicket:
    waiting = await waiting_in_order(ticket.room_id, ticket.visit_date)
    rank = reentry_rank(waiting, rules.returned_after)
    return await change_ticket(ticket, T.WAITING, actor_id=actor_id, updates={"rank": rank, "returned": True})


async def call_next(
    room_id: int,
    visit_date: object,
    *,
    doctor_id: int | None,
    now: datetime,
    doctor_account_id: int | None = None,
) -> QueueTicket:
    """Claim the first waiting ticket with a conditional update; a doctor who loses a race to another
    doctor of the same room moves on to the next ticket, so two doctors never call one patient."""
    for candidate in await waiting_in_order(room_id, visit_date):
        try:
            return await change_ticket(
                candidate,
                T.CALLED,
                actor_id=doctor_account_id,
                updates={"called_at": now, "call_count": 1, "called_by_doctor_id": doctor_id},
                at=now,
            )
        except InvalidTransition:
            continue  # another doctor of the room called this one a moment ago
    raise NothingToCall()


async def restore(ticket: QueueTicket, rules: QueueRules, *, actor_id: int | None) -> QueueTicket:
    waiting = await waiting_in_order(ticket.room_id, ticket.visit_date)
    rank = reentry_rank(waiting, rules.restored_after)
    return await change_ticket(ticket, T.WAITING, actor_id=actor_id, updates={"rank": rank, "restored": True})


async def transfer(
    ticket: QueueTicket, target_room_id: int, rules: QueueRules, *, actor_id: int | None, now: datetime
) -> QueueTicket:
    """The ticket ends as TRANSFERRED and a WAITING ticket with the same label opens in the target
    room, near its front (the patient has already waited once)."""
    if ticket.room_id == target_room_id:
        raise InvalidTransition("ticket", ticket.state.value, T.TRANSFERRED.value)
    await change_ticket(ticket, T.TRANSFERRED, actor_id=actor_id, at=now)
    waiting = await waiting_in_order(target_room_id, ticket.visit_date)
    moved = await QueueTicket.create(
        booking_id=ticket.booking_id,
        room_id=target_room_id,
        department_id=ticket.department_id,
        account_id=ticket.account_id,
        visit_date=ticket.visit_date,
        label=ticket.label,
        number=ticket.number,
        display_name=ticket.display_name,
        state=T.WAITING,
        rank=reentry_rank(waiting, rules.transferred_after),
        priority=ticket.priority,
        priority_reason=ticket.priority_reason,
        priority_note=ticket.priority_note,
        priority_at=ticket.priority_at,
        late=ticket.late,
        returned=ticket.returned,
        checked_in_at=now,
        live_booking_key=ticket.booking_id,
    )
    await QueueTicket.filter(id=ticket.id).update(transferred_to_id=moved.id)
    return moved
