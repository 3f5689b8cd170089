from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from gualema.settings import Settings
from models import jobs
from models.accounts import Account, Patient
from models.booking import Booking, BookingStatus
from models.booking.rules import NotYetReleased
from models.clock import utcnow
from models.errors import InvalidInput, NotFound
from models.reactions import change_booking, move_entry, tell_joined
from models.scheduling import Period, Schedule, ScheduleStatus, Slot
from models.waitlist import allocation, entries, lifecycle, statistics
from models.waitlist.allocation import WaitlistPolicy
from models.waitlist.entries import (
    AlreadyWaiting,
    SeatsAvailable,
    WaitlistClosed,
    WaitlistEntry,
    WaitlistLimitReached,
    WaitlistMode,
    WaitlistStatus,
)
from models.waitlist.statistics import WaitlistStats
from realtime.broker import get_broker
from resolvers.context import Context

log = logging.getLogger("gualema.waitlist")


ENTRIES_SHOWN = 100  # an account's entries, newest first


def channel(account_id: int) -> str:
    return f"waitlist:{account_id}"


def policy(settings: Settings) -> WaitlistPolicy:
    return WaitlistPolicy(
        offer_minutes=settings.waitlist_offer_minutes,
        max_per_account_per_day=settings.max_bookings_per_account_per_day,
        hold_minutes=settings.hold_minutes,
    )


async def publish_change(account_id: int, entry_id: int) -> None:
    """After commit: tell the patient's myWaitlist subscription to re-read."""
    try:
        await get_broker().publish(channel(account_id), {"entry_id": entry_id})
    except Exception:  # the database is the truth; a lost ping is healed by the next snapshot
        log.warning("could not publish a waitlist change for entry %s", entry_id)


@dataclass(frozen=True)
class JoinRequest:
    patient_id: int
    schedule_id: int | None
    department_id: int | None
    visit_date: date | None
    period: Period | None
    registration_type_id: int | None


async def _target_schedules(request: JoinRequest) -> list[Schedule]:
    if request.schedule_id is not None:
        schedule = await Schedule.get_or_none(id=request.schedule_id)
        if schedule is None:
            raise NotFound("no such session")
        return [schedule]
    if request.department_id is None or request.visit_date is None:
        raise InvalidInput("scheduleId", "name a session, or a department and a date")
    query = Schedule.filter(department_id=request.department_id, date=request.visit_date)
    if request.period is not None:
        query = query.filter(period=request.period)
    if request.registration_type_id is not None:
        query = query.filter(registration_type_id=request.registration_type_id)
    schedules = await query
    if not schedules:
        raise NotFound("no session matches this department, date and period")
    return schedules


async def join(context: Context, request: JoinRequest) -> WaitlistEntry:
    account_id = context.viewer.account_id
    settings = context.settings
    now = utcnow()
    patient = await Patient.get_or_none(
        id=request.patient_id, account_id=account_id, archived_at__isnull=True
    )
    if patient is None:
        raise NotFound("no such patient on this account")
    schedules = await _target_schedules(request)
    open_schedules = [s for s in schedules if s.status is ScheduleStatus.OPEN and s.starts_at > now]
    if not open_schedules:
        raise WaitlistClosed("the session has started or is stopped")
    if all(s.release_at > now for s in open_schedules):
        raise NotYetReleased(min(s.release_at for s in open_schedules))
    ids = [s.id for s in open_schedules]
    if await Slot.filter(schedule_id__in=ids, remaining__gt=0, bookable=True).exists():
        raise SeatsAvailable()
    first = open_schedules[0]
    visit_date = first.date
    deadline = entries.waitlist_deadline(visit_date, settings.waitlist_expire_hour, settings.tz)
    if deadline <= now:
        raise WaitlistClosed(f"the waitlist closed at {deadline.isoformat()}")
    key = entries.entry_active_key(
        patient.id,
        request.schedule_id,
        first.department_id,
        visit_date,
        request.period.value if request.period else None,
    )
    # The hospital's mode is read at each join (tests and operators may switch it); an entry keeps
    # the mode it joined under.
    mode = WaitlistMode(settings.waitlist_mode)
    fee_due = 0
    if mode is WaitlistMode.PREPAID:
        fees = {s.fee for s in open_schedules}
        if len(fees) > 1:
            # One price per prepaid entry: a seat is only ever given for exactly what was paid.
            raise InvalidInput(
                "registrationTypeId", "these sessions have different fees: name a session or a type"
            )
        fee_due = fees.pop()
    awaiting_payment = fee_due > 0
    pay_by = min(now + timedelta(minutes=settings.hold_minutes), deadline)
    try:
        async with in_transaction():
            # Serialise this account's joins so the limit cannot be passed by two at once.
            await Account.select_for_update().filter(id=account_id).first()
            if await WaitlistEntry.filter(active_key=key).exists():
                raise AlreadyWaiting()
            active = await WaitlistEntry.filter(
                account_id=account_id, status__in=list(entries.ACTIVE)
            ).count()
            if active >= settings.waitlist_max_entries:
                raise WaitlistLimitReached(settings.waitlist_max_entries)
            entry = await WaitlistEntry.create(
                account_id=account_id,
                patient_id=patient.id,
                schedule_id=request.schedule_id,
                department_id=first.department_id,
                visit_date=visit_date,
                period=request.period.value if request.period else None,
                registration_type_id=request.registration_type_id,
                mode=mode,
                status=WaitlistStatus.AWAITING_PAYMENT if awaiting_payment else WaitlistStatus.WAITING,
                fee_due=fee_due,
                payment_expires_at=pay_by if awaiting_payment else None,
                deadline=deadline,
                active_key=key,
                joined_at=now,  # the payment time replaces it for a prepaid entry with a fee
            )
            if not awaiting_payment:
                # A prepaid entry is told it joined when its fee arrives and it is really in line.
                await tell_joined(entry)
    except IntegrityError:
        raise AlreadyWaiting() from None
    await publish_change(account_id or 0, entry.id)
    return entry


async def leave(context: Context, entry_id: int) -> WaitlistEntry:
    found = await WaitlistEntry.get_or_none(id=entry_id, account_id=context.viewer.account_id)
    if found is None:
        raise NotFound("no such waitlist entry")
    async with in_transaction():
        # Re-read under a row lock: a payment notification may be moving it into line right now,
        # and the refund must be of what was really paid.
        entry = await WaitlistEntry.select_for_update().get(id=found.id)
        if entry.status is WaitlistStatus.OFFERED and entry.booking_id is not None:
            # Declining an offer cancels its held booking, which passes the seat to the next waiter.
            booking = await Booking.get(id=entry.booking_id)
            if booking.status is BookingStatus.PENDING_PAYMENT:
                await change_booking(
                    booking,
                    BookingStatus.CANCELLED,
                    actor_id=context.viewer.account_id,
                    reason="waitlist offer declined",
                )
                await entry.refresh_from_db()
        if entry.status in entries.ACTIVE:
            await move_entry(entry, WaitlistStatus.LEFT, reason="left by the patient")
    await publish_change(entry.account_id, entry.id)
    return entry


async def my_entries(context: Context, active_only: bool = False) -> list[WaitlistEntry]:
    query = WaitlistEntry.filter(account_id=context.viewer.account_id)
    if active_only:
        query = query.filter(status__in=list(entries.ACTIVE))
    return await query.order_by("-joined_at", "-id").limit(ENTRIES_SHOWN)


async def entries_for_account(account_id: int) -> list[WaitlistEntry]:
    return (
        await WaitlistEntry.filter(account_id=account_id).order_by("-joined_at", "-id").limit(ENTRIES_SHOWN)
    )


async def stats(
    schedule_id: int | None, department_id: int | None, date_from: date | None, date_to: date | None
) -> WaitlistStats:
    if schedule_id is None and department_id is None:
        raise InvalidInput("scheduleId", "name a session or a department")
    return await statistics.stats(
        schedule_id=schedule_id, department_id=department_id, date_from=date_from, date_to=date_to
    )


async def my_waitlist_stream(context: Context) -> AsyncIterator[list[WaitlistEntry]]:
    """The patient's entries now, then again after every change (a resync too: always from the DB)."""
    account_id = context.viewer.account_id or 0
    async with get_broker().subscribe(channel(account_id)) as messages:
        yield await entries_for_account(account_id)
        async for _ in messages:
            yield await entries_for_account(account_id)


# ---------------------------------------------------------------- background


async def handle_seat_freed(job: jobs.Job, settings: Settings) -> None:
    """A freed seat goes to the first matching waiter; the job is consumed in the same transaction,
    so a reserved seat is given exactly once even if a lease expires and the job runs again."""
    payload = job.payload
    allocated = None
    for attempt in range(4):
        try:
            async with in_transaction():
                consumed = await jobs.Job.filter(id=job.id, done_at__isnull=True).update(done_at=utcnow())
                if consumed != 1:
                    return
                allocated = await allocation.allocate_seat(
                    int(payload["schedule_id"]),
                    int(payload["slot_id"]),
                    reserved=bool(payload.get("reserved", False)),
                    policy=policy(settings),
                )
            break
        except OperationalError as exc:
            # InnoDB picks a deadlock victim when two workers serve one line; it was rolled back
            # whole, so running it again is safe.
            if "deadlock" not in str(exc).lower() or attempt == 3:
                raise
    if allocated is not None:
        await publish_change(allocated.account_id, allocated.entry_id)


async def run_waitlist(settings: Settings) -> int:
    runner = jobs.JobRunner({jobs.SEAT_FREED: lambda job: handle_seat_freed(job, settings)})
    handled = await runner.run_once()
    for entry in await lifecycle.lapse_unpaid():
        await publish_change(entry.account_id, entry.id)
        handled += 1
    for entry in await lifecycle.expire_due():
        await publish_change(entry.account_id, entry.id)
        handled += 1
    handled += await sweep_pools(settings)
    return handled


async def sweep_pools(settings: Settings) -> int:
    """Seats left in the public pool while someone waits go to the waiters (the safety net for a
    join that raced a cancellation)."""
    now = utcnow()
    waiting = await WaitlistEntry.filter(status=WaitlistStatus.WAITING, deadline__gt=now).values(
        "schedule_id", "department_id", "visit_date"
    )
    if not waiting:
        return 0
    schedule_ids = {row["schedule_id"] for row in waiting if row["schedule_id"] is not None}
    department_days = {
        (row["department_id"], row["visit_date"]) for row in waiting if row["schedule_id"] is None
    }
    for department_id, visit_date in department_days:
        matches = await Schedule.filter(
            department_id=department_id, date=visit_date, status=ScheduleStatus.OPEN
        ).values_list("id", flat=True)
        schedule_ids.update(int(i) for i in matches)  # type: ignore[call-overload]
    with_seats = await Slot.filter(
        schedule_id__in=list(schedule_ids), remaining__gt=0, bookable=True
    ).values_list("schedule_id", flat=True)
    served = 0
    for schedule_id in sorted({int(s) for s in with_seats}):  # type: ignore[call-overload]
        served += await allocation.allocate_from_pool(schedule_id, policy(settings), now=now)
    return served
