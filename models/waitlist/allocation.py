"""Giving a freed seat to the first matching waiter, through the one booking placement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import OperationalError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models import public_changes
from models.booking.placement import BookingPolicy, WaitlistSeat, place_booking, waitlist_request
from models.booking.rules import (
    Blacklisted,
    BookingClosed,
    DuplicateBooking,
    NotYetReleased,
    PatientNotFound,
    QuotaExceeded,
    SlotUnavailable,
)
from models.clock import utcnow
from models.errors import InvalidTransition
from models.payments import PaymentOrder, PaymentStatus
from models.reactions import move_entry
from models.scheduling import Schedule, ScheduleStatus, Slot
from models.waitlist.entries import WaitlistEntry, WaitlistMode, WaitlistStatus, matching_entries

W = WaitlistStatus


@dataclass(frozen=True)
class WaitlistPolicy:
    offer_minutes: int
    max_per_account_per_day: int
    hold_minutes: int = 15


@dataclass(frozen=True)
class Allocation:
    entry_id: int
    account_id: int
    booking_id: int
    status: WaitlistStatus


class NoSeat(Exception):
    """The pool's seat went to someone else first: the caller rolls back and tries another slot."""


# Refusals that end the waiter's wait: they can no longer take a seat of this session at all.
_ENDS_ENTRY: dict[type[Exception], str] = {
    DuplicateBooking: "already booked for that day",
    PatientNotFound: "the patient was removed",
    Blacklisted: "online booking is blocked after repeated no-shows",
}


async def allocate_seat(
    schedule_id: int,
    slot_id: int,
    *,
    reserved: bool,
    policy: WaitlistPolicy,
    now: datetime | None = None,
) -> Allocation | None:
    """Give one seat of a slot to the first matching waiter. Call inside a transaction.

    `reserved`: the seat was withheld from the public pool when it was freed (the caller consumed
    the job that carries it, exactly once); otherwise it is taken from the pool like any booking's.
    Each waiter is tried in a savepoint: the claim of the entry and the placement of the booking
    commit together or not at all, so a waiter at the daily quota keeps their place untouched.
    Returns None when nobody can take it; a reserved seat then goes back to the pool.
    """
    now = now or utcnow()
    schedule = await Schedule.get_or_none(id=schedule_id)
    slot = await Slot.get_or_none(id=slot_id)
    usable = (
        schedule is not None
        and slot is not None
        and schedule.status is ScheduleStatus.OPEN
        and slot.bookable
        and schedule.starts_at > now
    )
    if usable:
        assert schedule is not None
        allocation = await _first_waiter_takes(schedule, slot_id, reserved, policy, now)
        if allocation is not None:
            return allocation
    if reserved and slot is not None:
        await Slot.filter(id=slot_id).update(remaining=F("remaining") + 1)
        public_changes.note_session(schedule_id, slot_id)
    return None


async def _first_waiter_takes(
    schedule: Schedule, slot_id: int, reserved: bool, policy: WaitlistPolicy, now: datetime
) -> Allocation | None:
    candidates = (
        await matching_entries(schedule)
        .filter(status=W.WAITING, deadline__gt=now)
        .order_by("joined_at", "id")
        .limit(25)
    )
    booking_policy = BookingPolicy(
        hold_minutes=policy.hold_minutes, max_per_account_per_day=policy.max_per_account_per_day
    )
    for entry in candidates:
        if entry.mode is WaitlistMode.PREPAID and entry.fee_paid != schedule.fee:
            # Paid a different price (the fee changed after joining): never charge more or less
            # than was paid; this seat goes to the next waiter (decision 090).
            continue
        needs_payment = schedule.fee > 0 and entry.mode is not WaitlistMode.PREPAID
        target = W.OFFERED if needs_payment else W.BOOKED
        seat = WaitlistSeat(
            entry_id=entry.id,
            reserved=reserved,
            offer_expires_at=now + timedelta(minutes=policy.offer_minutes) if needs_payment else None,
        )
        request = waitlist_request(entry.account_id, slot_id, entry.patient_id, entry.id)
        try:
            async with _savepoint():
                # Claim the waiter first: of two workers serving the same line, the one that loses
                # this conditional UPDATE moves on to the next waiter.
                await move_entry(entry, target, served_at=now if target is W.BOOKED else None)
                placed = await place_booking(request, booking_policy, now, waitlist=seat)
                booking = placed.booking
                await WaitlistEntry.filter(id=entry.id).update(booking_id=booking.id)
                entry.booking_id = booking.id
                if entry.payment_order_id is not None:
                    await _attach_prepayment(entry.payment_order_id, booking.id)
        except InvalidTransition:
            continue  # another worker served this waiter
        except QuotaExceeded:
            continue  # at the daily quota now: their place is kept for a later seat
        except (SlotUnavailable, BookingClosed, NotYetReleased):
            if reserved:
                return None  # the session can no longer be booked: the seat goes back to the pool
            raise NoSeat() from None
        except tuple(_ENDS_ENTRY) as refusal:
            await _end_entry(entry, _ENDS_ENTRY[type(refusal)])
            continue
        return Allocation(entry.id, entry.account_id, booking.id, target)
    return None


@asynccontextmanager
async def _savepoint() -> AsyncIterator[None]:
    try:
        async with in_transaction():
            yield
    except Exception as exc:
        # InnoDB rolls a deadlock victim's whole transaction back, savepoints included, so the
        # ROLLBACK TO SAVEPOINT that follows fails (1305, raised by the driver itself) and would hide
        # the deadlock: surface the deadlock, which the caller retries as a whole.
        cause = exc.__context__
        if isinstance(cause, OperationalError) and "deadlock" in str(cause).lower():
            raise cause from None
        raise


async def _end_entry(entry: WaitlistEntry, reason: str) -> None:
    fresh = await WaitlistEntry.get(id=entry.id)
    if fresh.status is W.WAITING:
        await move_entry(fresh, W.LEFT, reason=reason)


async def _attach_prepayment(order_id: int, booking_id: int) -> None:
    """The fee paid on joining now pays for the booking: a later cancellation refunds it through
    the booking's own refund job, and the waitlist never refunds it (the entry is BOOKED)."""
    attached = await PaymentOrder.filter(
        id=order_id, booking_id__isnull=True, status=PaymentStatus.PAID
    ).update(booking_id=booking_id)
    if attached != 1:
        # A waiting entry's order is always PAID and unattached (refunds start only after the entry
        # leaves WAITING); anything else is a bug, and rolling the allocation back keeps the seat.
        raise RuntimeError(f"prepayment order {order_id} cannot be attached to booking {booking_id}")


async def allocate_from_pool(schedule_id: int, policy: WaitlistPolicy, now: datetime | None = None) -> int:
    """Safety net: seats sitting in the public pool while someone waits (a join raced a cancellation)
    go to waiters. One transaction per seat."""
    served = 0
    for slot in await Slot.filter(schedule_id=schedule_id, remaining__gt=0, bookable=True).order_by(
        "starts_at"
    ):
        for _ in range(slot.remaining):
            try:
                async with in_transaction():
                    allocation = await allocate_seat(
                        schedule_id, slot.id, reserved=False, policy=policy, now=now
                    )
            except NoSeat:
                break
            if allocation is None:
                return served
            served += 1
    return served
