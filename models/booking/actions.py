"""Booking actions that are not placements: cancellation, lapsed holds, 停诊 and the end-of-session
no-show sweep. Each changes status through models/reactions.py, so the seat, the quota, the money and
the patient's messages follow in the same transaction."""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from models.accounts import Patient
from models.booking.rules import check_cancellable
from models.booking.status import BookingStatus
from models.booking.tables import Booking, booking_of
from models.clock import utcnow
from models.errors import InvalidInput, InvalidTransition, NotFound
from models.no_shows import NoShowPolicy, block_if_due
from models.reactions import change_booking, change_schedule
from models.schedule_stop_requests import StopApproval
from models.scheduling import Schedule, ScheduleStatus

S = BookingStatus


async def cancel_booking(
    booking_id: int,
    *,
    account_id: int | None,
    actor_id: int | None,
    reason: str,
    cutoff_minutes: int,
    now: datetime | None = None,
) -> Booking:
    """A patient's (account_id set: only their own) or an administrator's cancellation. Call inside a
    transaction."""
    now = now or utcnow()
    booking = await booking_of(booking_id, account_id)
    if account_id is not None:
        check_cancellable(now=now, slot_starts_at=booking.slot_starts_at, cutoff_minutes=cutoff_minutes)
    return await change_booking(
        booking,
        S.CANCELLED,
        actor_id=actor_id,
        reason=reason or "cancelled",
        updates={"cancel_reason": (reason or "cancelled")[:255]},
        at=now,
    )


async def expire_holds(now: datetime | None = None, limit: int = 200) -> int:
    """Unpaid holds past their deadline become EXPIRED and give their seat back. Durable (the state
    is in the database, so a restart only delays it) and exactly once: each change is a conditional
    UPDATE, and a process that loses the race skips the booking."""
    now = now or utcnow()
    due = (
        await Booking.filter(status=S.PENDING_PAYMENT, expires_at__lte=now)
        .order_by("expires_at")
        .limit(limit)
    )
    expired = 0
    for booking in due:
        try:
            async with in_transaction():
                await change_booking(
                    booking, S.EXPIRED, actor_id=None, reason="payment window elapsed", at=now
                )
            expired += 1
        except InvalidTransition:
            continue  # paid or expired by another process meanwhile
    return expired


async def stop_schedule(
    schedule_id: int, *, actor_id: int | None, reason: str, approving: StopApproval | None = None
) -> tuple[Schedule, int]:
    """停诊: close the session; its active bookings are cancelled by the reaction to the stop (refunds
    and notices follow from each). Call inside a transaction. Returns the session and how many
    bookings were cancelled."""
    if not reason.strip():
        raise InvalidInput("reason", "say why the session is stopped")
    schedule = await Schedule.get_or_none(id=schedule_id)
    if schedule is None:
        raise NotFound("no such session")
    before = await Booking.filter(schedule_id=schedule_id, status=S.CANCELLED).count()
    await change_schedule(
        schedule, ScheduleStatus.STOPPED, actor_id=actor_id, reason=reason, approving=approving
    )
    cancelled = await Booking.filter(schedule_id=schedule_id, status=S.CANCELLED).count() - before
    await schedule.refresh_from_db()
    return schedule, cancelled


async def sweep_no_shows(policy: NoShowPolicy, now: datetime | None = None, limit: int = 50) -> int:
    """Closing the day. For each session that has ended, once: CONFIRMED bookings become NO_SHOW
    (and are told), CHECKED_IN ones never seen (never called, or skipped and never restored) become
    LEFT_UNSEEN, then patients who reached the no-show threshold inside the window are blocked. The
    session is claimed with a conditional UPDATE of `no_shows_swept` inside the same transaction, so
    several processes never double-count."""
    now = now or utcnow()
    ended = await Schedule.filter(ends_at__lte=now, no_shows_swept=False).order_by("ends_at").limit(limit)
    marked = 0
    for schedule in ended:
        async with in_transaction():
            claimed = await Schedule.filter(id=schedule.id, no_shows_swept=False).update(no_shows_swept=True)
            if claimed != 1:
                continue
            missed = await Booking.filter(schedule_id=schedule.id, status=S.CONFIRMED)
            for booking in missed:
                await change_booking(
                    booking, S.NO_SHOW, actor_id=None, reason="not checked in by session end", at=now
                )
                marked += 1
            for booking in await Booking.filter(schedule_id=schedule.id, status=S.CHECKED_IN):
                await change_booking(
                    booking,
                    S.LEFT_UNSEEN,
                    actor_id=None,
                    reason="checked in, not seen by session end",
                    at=now,
                )
            for patient in await Patient.filter(id__in=list({b.patient_id for b in missed})):
                await block_if_due(patient, policy, now)
    return marked
