"""Rescheduling (改约): one booking moved to another slot of the same department, atomically.

Inside the caller's transaction the new seat is taken first, through the one placement (in a
savepoint), and only then is the old booking moved out through models/reactions.py, which gives its
seat and quota back. Any refusal raises before the old booking is touched, and the caller's
transaction undoes everything, so a failed reschedule leaves the original as it was. The old
booking's paid orders follow it to the new booking; a cheaper session refunds the difference and a
dearer one waits for the difference to be paid (docs/decisions/191-rescheduling.md).
"""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from models import payments
from models.booking.placement import BookingPolicy, BookingRequest, Replacing, place_booking
from models.booking.rules import check_cancellable
from models.booking.status import BookingStatus
from models.booking.tables import Booking, booking_of
from models.errors import DomainError, InvalidTransition, NotFound
from models.reactions import change_booking
from models.scheduling import Schedule, Slot

S = BookingStatus
MOVABLE = frozenset({S.PENDING_PAYMENT, S.CONFIRMED})


class RescheduleNotAllowed(DomainError):
    default_message = "a booking can be moved only to another slot of the same department"


async def reschedule_booking(
    booking_id: int,
    slot_id: int,
    idempotency_key: str,
    *,
    account_id: int | None,
    actor_id: int | None,
    policy: BookingPolicy,
    cutoff_minutes: int,
    now: datetime,
) -> Booking:
    """Move a patient's (account_id set: only their own, before the cutoff) or, for staff, any
    movable booking. Call inside a transaction. Returns the new booking."""
    old = await booking_of(booking_id, account_id)
    target = await Slot.get_or_none(id=slot_id)
    schedule = await Schedule.get_or_none(id=target.schedule_id) if target else None
    if target is None or schedule is None:
        raise NotFound("no such time slot")
    replay = await Booking.get_or_none(account_id=old.account_id, idempotency_key=idempotency_key)
    if replay is None:
        if old.status not in MOVABLE:
            raise InvalidTransition("booking", old.status.value, S.RESCHEDULED.value)
        if schedule.department_id != old.department_id:
            raise RescheduleNotAllowed()
        if slot_id == old.slot_id:
            raise RescheduleNotAllowed("the booking is already in this slot")
        if account_id is not None:
            check_cancellable(now=now, slot_starts_at=old.slot_starts_at, cutoff_minutes=cutoff_minutes)
    paid = await payments.paid_for_booking(old.id)
    settled = old.status is S.CONFIRMED and paid >= schedule.fee
    request = BookingRequest(old.account_id, slot_id, old.patient_id, idempotency_key)
    async with in_transaction():  # the savepoint of the placement
        placed = await place_booking(
            request, policy, now, in_callers_transaction=True, replacing=Replacing(old, settled)
        )
    if placed.change is None:
        return placed.booking  # the same request again: answered with the booking it made
    new = placed.booking
    await change_booking(
        old,
        S.RESCHEDULED,
        actor_id=actor_id,
        reason=f"改约至 booking {new.id} (rescheduled to)",
        updates={"cancel_reason": f"改约至 booking {new.id}"},
        at=now,
    )
    if paid > 0:
        await payments.move_paid_orders(old.id, new.id, refund_above=new.fee, reason="改约差价退款")
    return new
