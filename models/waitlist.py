from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import fields
from tortoise.expressions import F, Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models import jobs
from models.accounts import Account, Patient
from models.catalogue import Department
from models.clock import utcnow
from models.errors import DomainError, InvalidTransition, writable_updates


class WaitlistMode(StrEnum):
    OFFER = "offer"  # the first in line is offered a held seat to accept and pay
    PREPAID = "prepaid"  # the fee is paid on joining; a freed seat is booked automatically


class WaitlistStatus(StrEnum):
    # Prepaid mode with a fee: joined but not yet paid, so not in line (no position, no seat).
    AWAITING_PAYMENT = "awaiting_payment"
    WAITING = "waiting"
    OFFERED = "offered"  # a PENDING_PAYMENT booking holds the seat until the offer deadline
    BOOKED = "booked"
    EXPIRED = "expired"  # nothing freed before the deadline, or the offer lapsed
    LEFT = "left"


W = WaitlistStatus

# The one transition table of the waitlist entry.
TRANSITIONS: dict[WaitlistStatus, frozenset[WaitlistStatus]] = {
    # Paid -> in line; unpaid at the end of the hold -> EXPIRED; the patient gives up -> LEFT.
    W.AWAITING_PAYMENT: frozenset({W.WAITING, W.EXPIRED, W.LEFT}),
    W.WAITING: frozenset({W.OFFERED, W.BOOKED, W.EXPIRED, W.LEFT}),
    W.OFFERED: frozenset({W.BOOKED, W.EXPIRED, W.LEFT}),
    W.BOOKED: frozenset(),
    W.EXPIRED: frozenset(),
    W.LEFT: frozenset(),
}

# Active entries hold the patient's place (`active_key`) and count towards the account's limit.
ACTIVE = frozenset({W.AWAITING_PAYMENT, W.WAITING, W.OFFERED})


class WaitlistEntry(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="waitlist_entries", on_delete=fields.RESTRICT
    )
    patient: fields.ForeignKeyRelation[Patient] = fields.ForeignKeyField(
        "models.Patient", related_name="waitlist_entries", on_delete=fields.RESTRICT
    )
    # Either one session, or any doctor of a department on a date and period.
    schedule_id = fields.IntField(null=True, db_index=True)
    department_id = fields.IntField(db_index=True)
    visit_date = fields.DateField(db_index=True)
    period = fields.CharField(max_length=16, null=True)
    registration_type_id = fields.IntField(null=True)
    mode = fields.CharEnumField(WaitlistMode, max_length=16)
    status = fields.CharEnumField(
        WaitlistStatus, max_length=16, default=WaitlistStatus.WAITING, db_index=True
    )
    booking_id = fields.IntField(null=True)
    fee_paid = fields.IntField(default=0)  # fen, prepaid mode
    # Prepaid mode: the fee asked on joining (fen), the end of the payment hold, and the order that
    # paid it (attached to the booking when a seat is given, refunded if none is).
    fee_due = fields.IntField(default=0)
    payment_expires_at = fields.DatetimeField(null=True, db_index=True)
    payment_order_id = fields.IntField(null=True)
    offer_expires_at = fields.DatetimeField(null=True)
    deadline = fields.DatetimeField(db_index=True)
    # Set while active and NULL afterwards: one active entry per patient and target.
    active_key = fields.CharField(max_length=96, null=True, unique=True)
    joined_at = fields.DatetimeField(db_index=True)
    served_at = fields.DatetimeField(null=True)
    ended_reason = fields.CharField(max_length=255, default="")

    class Meta:
        table = "waitlist_entry"


def can_transition(current: WaitlistStatus, target: WaitlistStatus) -> bool:
    return target in TRANSITIONS[current]


def entry_key(entry: WaitlistEntry) -> str:
    return entry_active_key(
        entry.patient_id,  # type: ignore[attr-defined]
        entry.schedule_id,
        entry.department_id,
        entry.visit_date,
        entry.period,
    )


def entry_active_key(
    patient_id: int, schedule_id: int | None, department_id: int, visit_date: date, period: str | None
) -> str:
    if schedule_id is not None:
        return f"{patient_id}:s{schedule_id}"
    return f"{patient_id}:d{department_id}:{visit_date}:{period or 'any'}"


def waitlist_deadline(visit_date: date, expire_hour: int, tz: ZoneInfo) -> datetime:
    """Entries expire at `expire_hour` (default 23:00) on the day before the visit."""
    return datetime.combine(visit_date - timedelta(days=1), time(hour=expire_hour), tzinfo=tz)


async def move(entry: WaitlistEntry, target: WaitlistStatus, **updates: object) -> WaitlistEntry:
    """The only way an entry changes status: conditional on the status we read, so exactly once."""
    if not can_transition(entry.status, target):
        raise InvalidTransition("waitlist entry", entry.status.value, target.value)
    values: dict[str, object] = {**writable_updates(updates, state_column="status"), "status": target}
    if target not in ACTIVE:
        values["active_key"] = None
    changed = await WaitlistEntry.filter(id=entry.id, status=entry.status).update(**values)
    if changed != 1:
        fresh = await WaitlistEntry.get(id=entry.id)
        raise InvalidTransition("waitlist entry", fresh.status.value, target.value)
    for key, value in values.items():
        setattr(entry, key, value)
    return entry


# ---------------------------------------------------------------- expected failures


class SeatsAvailable(DomainError):
    default_message = "seats are still available: book one instead of joining the waitlist"


class WaitlistLimitReached(DomainError):
    default_message = "this account has the maximum number of active waitlist entries"

    def __init__(self, limit: int) -> None:
        super().__init__(f"an account may wait for at most {limit} sessions at once", limit=limit)


class AlreadyWaiting(DomainError):
    default_message = "this patient is already on this waitlist"


class WaitlistClosed(DomainError):
    default_message = "the waitlist for this session is closed"


# ---------------------------------------------------------------- matching and position


def _matching_entries(schedule: Any) -> Any:
    """Entries a seat of `schedule` can serve: those for this session, and those for any doctor of
    its department on its date (and period, and registration type, when they asked for one)."""
    return WaitlistEntry.filter(
        Q(schedule_id=schedule.id)
        | (
            Q(schedule_id__isnull=True, department_id=schedule.department_id, visit_date=schedule.date)
            & (Q(period__isnull=True) | Q(period=schedule.period.value))
            & (Q(registration_type_id__isnull=True) | Q(registration_type_id=schedule.registration_type_id))
        )
    )


async def has_waiters(schedule: Any) -> bool:
    return await _matching_entries(schedule).filter(status=W.WAITING, deadline__gt=utcnow()).exists()


async def has_waiters_for_schedule(schedule_id: int) -> bool:
    from models.scheduling import Schedule

    schedule = await Schedule.get_or_none(id=schedule_id)
    return schedule is not None and await has_waiters(schedule)


def _line_of(entry: WaitlistEntry) -> tuple[object, ...]:
    # Entries wait in one line when they asked for the same thing.
    return (entry.schedule_id, entry.department_id, entry.visit_date, entry.period)


async def positions(entry_ids: list[int]) -> list[int]:
    """Each entry's place in its line (1 = first, by joining time), 0 when it is not waiting.
    Two queries for any number of entries."""
    entries = {e.id: e for e in await WaitlistEntry.filter(id__in=entry_ids)}
    waiting = [e for e in entries.values() if e.status is W.WAITING]
    lines: dict[tuple[object, ...], list[int]] = {}
    if waiting:
        for other in await WaitlistEntry.filter(
            status=W.WAITING,
            department_id__in=list({e.department_id for e in waiting}),
            visit_date__in=list({e.visit_date for e in waiting}),
        ).order_by("joined_at", "id"):
            lines.setdefault(_line_of(other), []).append(other.id)
    result = []
    for entry_id in entry_ids:
        entry = entries.get(entry_id)
        line = lines.get(_line_of(entry), []) if entry is not None else []
        result.append(line.index(entry_id) + 1 if entry_id in line else 0)
    return result


async def position(entry: WaitlistEntry) -> int:
    return (await positions([entry.id]))[0]


# ---------------------------------------------------------------- allocation


@dataclass(frozen=True)
class WaitlistPolicy:
    offer_minutes: int
    max_per_account_per_day: int


@dataclass(frozen=True)
class Allocation:
    entry_id: int
    account_id: int
    booking_id: int
    status: WaitlistStatus


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
    the job that carries it, exactly once); otherwise it is taken from the pool with the same
    conditional UPDATE as a booking. Returns None when nobody can take it; a reserved seat then goes
    back to the pool.
    """
    from models.booking import (
        Booking,
        BookingEvent,
        BookingQuota,
        BookingStatus,
        active_department_day_key,
        active_session_key,
    )
    from models.booking_rules import request_fingerprint
    from models.scheduling import Schedule, ScheduleStatus, Slot

    now = now or utcnow()
    schedule = await Schedule.get_or_none(id=schedule_id).select_related("department")
    slot = await Slot.get_or_none(id=slot_id)
    usable = (
        schedule is not None
        and slot is not None
        and schedule.status is ScheduleStatus.OPEN
        and slot.bookable
        and schedule.starts_at > now
    )
    if not usable:
        if reserved and slot is not None:
            await Slot.filter(id=slot_id).update(remaining=F("remaining") + 1)
        return None
    assert schedule is not None
    assert slot is not None
    candidates = (
        await _matching_entries(schedule)
        .filter(status=W.WAITING, deadline__gt=now)
        .order_by("joined_at", "id")
        .limit(25)
    )
    for entry in candidates:
        if entry.mode is WaitlistMode.PREPAID and entry.fee_paid != schedule.fee:
            # Paid a different price (the fee changed after joining): never charge more or less
            # than was paid; this seat goes to the next waiter (decision 090).
            continue
        patient_id: int = entry.patient_id  # type: ignore[attr-defined]
        account_id: int = entry.account_id  # type: ignore[attr-defined]
        session_key = active_session_key(patient_id, schedule.id)
        day_key = active_department_day_key(patient_id, schedule.department_id, schedule.date)
        if await Booking.filter(
            Q(active_session_key=session_key) | Q(active_department_day_key=day_key)
        ).exists():
            # Booked that department that day some other way: this entry is done, not served.
            with suppress(InvalidTransition):
                await move(entry, W.LEFT, ended_reason="already booked for that day")
                await refund_prepayment(entry, "booked that day another way")
            continue
        needs_payment = schedule.fee > 0 and entry.mode is not WaitlistMode.PREPAID
        target = W.OFFERED if needs_payment else W.BOOKED
        offer_deadline = now + timedelta(minutes=policy.offer_minutes) if needs_payment else None
        # Claim the waiter first, before any other write: of two workers serving the same line,
        # the one that loses this conditional UPDATE moves on to the next waiter untouched.
        try:
            await move(
                entry, target, offer_expires_at=offer_deadline, served_at=now if target is W.BOOKED else None
            )
        except InvalidTransition:
            continue
        await BookingQuota.bulk_create(
            [BookingQuota(account_id=account_id, visit_date=schedule.date, active=0)], ignore_conflicts=True
        )
        counted = await BookingQuota.filter(
            account_id=account_id, visit_date=schedule.date, active__lt=policy.max_per_account_per_day
        ).update(active=F("active") + 1)
        if counted != 1:
            # At the daily quota now: keep their place in line for a later seat (we hold the row).
            await WaitlistEntry.filter(id=entry.id).update(
                status=W.WAITING, active_key=entry_key(entry), offer_expires_at=None, served_at=None
            )
            continue
        if not reserved:
            taken = await Slot.filter(id=slot_id, remaining__gt=0, bookable=True).update(
                remaining=F("remaining") - 1
            )
            if taken != 1:
                raise _NoSeat()  # rolls the claim and the quota unit back; the caller tries another slot
        booking_status = BookingStatus.PENDING_PAYMENT if needs_payment else BookingStatus.CONFIRMED
        await Schedule.filter(id=schedule.id).update(next_number=F("next_number") + 1)
        (next_number,) = await Schedule.filter(id=schedule.id).values_list("next_number", flat=True)
        booking = await Booking.create(
            account_id=account_id,
            patient_id=patient_id,
            schedule_id=schedule.id,
            slot_id=slot.id,
            department_id=schedule.department_id,
            visit_date=schedule.date,
            slot_starts_at=slot.starts_at,
            slot_ends_at=slot.ends_at,
            status=booking_status,
            queue_number=int(next_number) - 1,  # type: ignore[call-overload]
            fee=schedule.fee,
            expires_at=offer_deadline,
            active_session_key=session_key,
            active_department_day_key=day_key,
            idempotency_key=f"waitlist:{entry.id}",
            request_fingerprint=request_fingerprint(slot.id, patient_id),
        )
        await BookingEvent.create(
            booking_id=booking.id,
            from_status=None,
            to_status=booking_status,
            reason=f"waitlist entry {entry.id}",
        )
        await WaitlistEntry.filter(id=entry.id).update(booking_id=booking.id)
        entry.booking_id = booking.id
        if entry.payment_order_id is not None:
            await _attach_prepayment(entry.payment_order_id, booking.id)
        patient = await Patient.get(id=patient_id)
        await _tell(entry, schedule, patient.name, patient.phone, booking, offer_deadline)
        return Allocation(entry.id, account_id, booking.id, target)
    if reserved:
        await Slot.filter(id=slot_id).update(remaining=F("remaining") + 1)
    return None


class _NoSeat(Exception):
    pass


async def _attach_prepayment(order_id: int, booking_id: int) -> None:
    """The fee paid on joining now pays for the booking: a later cancellation refunds it through
    the booking's own refund job, and the waitlist never refunds it (the entry is BOOKED)."""
    from models.payments import PaymentOrder, PaymentStatus

    attached = await PaymentOrder.filter(
        id=order_id, booking_id__isnull=True, status=PaymentStatus.PAID
    ).update(booking_id=booking_id)
    if attached != 1:
        # A waiting entry's order is always PAID and unattached (refunds start only after the entry
        # leaves WAITING); anything else is a bug, and rolling the allocation back keeps the seat.
        raise RuntimeError(f"prepayment order {order_id} cannot be attached to booking {booking_id}")


async def _tell(
    entry: WaitlistEntry,
    schedule: Any,
    patient_name: str,
    phone: str,
    booking: Any,
    offer_deadline: datetime | None,
) -> None:
    from models.notifications import notify

    base = {
        "patient_name": patient_name,
        "department": schedule.department.name,
        "visit_time": booking.slot_starts_at,
    }
    if offer_deadline is not None:
        await notify(
            entry.account_id,  # type: ignore[attr-defined]
            "waitlist.offered",
            {**base, "expires_time": offer_deadline},
            dedupe_key=f"waitlist.offered:{entry.id}:{booking.id}",
            booking_id=booking.id,
            phone=phone,
        )
    else:
        await notify(
            entry.account_id,  # type: ignore[attr-defined]
            "waitlist.booked",
            {**base, "queue_number": booking.queue_number},
            dedupe_key=f"waitlist.booked:{entry.id}",
            booking_id=booking.id,
            phone=phone,
        )


async def allocate_from_pool(schedule_id: int, policy: WaitlistPolicy, now: datetime | None = None) -> int:
    """Safety net: seats sitting in the public pool while someone waits (a join raced a cancellation)
    go to waiters. One transaction per seat."""
    from models.scheduling import Slot

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
            except _NoSeat:
                break
            if allocation is None:
                return served
            served += 1
    return served


async def on_booking_changed(booking: Any, target: Any) -> None:
    """Called by booking.transition inside its transaction: an offer's booking settles the entry."""
    from models.booking import BookingStatus

    entry = await WaitlistEntry.filter(booking_id=booking.id, status=W.OFFERED).first()
    if entry is None:
        return
    if target is BookingStatus.CONFIRMED:
        await move(entry, W.BOOKED, served_at=utcnow())
    elif target is BookingStatus.EXPIRED:
        await move(entry, W.EXPIRED, ended_reason="the offer was not accepted in time")
    elif target is BookingStatus.CANCELLED:
        await move(entry, W.LEFT, ended_reason="the offer was declined")


async def expire_due(now: datetime | None = None, limit: int = 200) -> list[WaitlistEntry]:
    """Entries still waiting at their deadline end; exactly once (conditional move)."""
    from models.notifications import notify

    now = now or utcnow()
    ended: list[WaitlistEntry] = []
    for entry in (
        await WaitlistEntry.filter(status=W.WAITING, deadline__lte=now).order_by("deadline").limit(limit)
    ):
        try:
            async with in_transaction():
                await move(entry, W.EXPIRED, ended_reason="nothing came free before the deadline")
                patient = await Patient.get(id=entry.patient_id)  # type: ignore[attr-defined]
                department = await Department.get(id=entry.department_id)
                await notify(
                    entry.account_id,  # type: ignore[attr-defined]
                    "waitlist.expired",
                    {
                        "patient_name": patient.name,
                        "department": department.name,
                        "visit_time": entry.visit_date,
                    },
                    dedupe_key=f"waitlist.expired:{entry.id}",
                    phone=patient.phone,
                )
                await refund_prepayment(entry, "waitlist expired")
            ended.append(entry)
        except InvalidTransition:
            continue
    return ended


WAITLIST_REFUND = "waitlist.refund"


# ---------------------------------------------------------------- prepaid mode: paying to join


async def admit_paid(entry_id: int, order_id: int, amount: int, paid_at: datetime) -> bool:
    """The joining fee arrived: the entry enters the line, ordered by payment time. Call inside the
    transaction that marks the order PAID. False when the entry is no longer waiting for payment
    (it lapsed, was left, or another order paid it first): the caller refunds this money."""
    entry = await WaitlistEntry.get_or_none(id=entry_id)
    if entry is None or entry.status is not W.AWAITING_PAYMENT or entry.deadline <= paid_at:
        return False
    try:
        await move(
            entry,
            W.WAITING,
            fee_paid=amount,
            joined_at=paid_at,
            payment_order_id=order_id,
            payment_expires_at=None,
        )
    except InvalidTransition:
        return False
    await tell_joined(entry)
    return True


async def tell_joined(entry: WaitlistEntry) -> None:
    from models.notifications import notify

    patient = await Patient.get(id=entry.patient_id)  # type: ignore[attr-defined]
    department = await Department.get(id=entry.department_id)
    await notify(
        entry.account_id,  # type: ignore[attr-defined]
        "waitlist.joined",
        {
            "patient_name": patient.name,
            "department": department.name,
            "visit_date": entry.visit_date,
            "position": await position(entry),
        },
        dedupe_key=f"waitlist.joined:{entry.id}",
        phone=patient.phone,
    )


async def close_unpaid(entry: WaitlistEntry) -> None:
    """An entry left AWAITING_PAYMENT without paying: its open order is closed at the provider by
    the payments area's close job (in the caller's transaction)."""
    from models.booking import PAYMENT_CLOSE

    await jobs.enqueue(PAYMENT_CLOSE, {"waitlist_entry_id": entry.id}, dedupe_key=f"close-entry:{entry.id}")


async def lapse_unpaid(now: datetime | None = None, limit: int = 200) -> list[WaitlistEntry]:
    """Entries not paid by the end of their payment hold end, once (conditional move)."""
    now = now or utcnow()
    lapsed: list[WaitlistEntry] = []
    for entry in (
        await WaitlistEntry.filter(status=W.AWAITING_PAYMENT, payment_expires_at__lte=now)
        .order_by("payment_expires_at")
        .limit(limit)
    ):
        try:
            async with in_transaction():
                await move(entry, W.EXPIRED, ended_reason="the joining fee was not paid in time")
                await close_unpaid(entry)
            lapsed.append(entry)
        except InvalidTransition:
            continue  # paid (or left) a moment ago
    return lapsed


async def refund_prepayment(entry: WaitlistEntry, reason: str) -> None:
    """Queue the refund of a prepaid entry that ends without a seat (in the caller's transaction).
    The dedupe key and the order's own state machine make it once, whichever path asks."""
    if entry.mode is WaitlistMode.PREPAID and entry.fee_paid > 0:
        await jobs.enqueue(
            WAITLIST_REFUND,
            {"entry_id": entry.id, "amount": entry.fee_paid, "reason": reason},
            dedupe_key=f"waitlist-refund:{entry.id}",
        )


# ---------------------------------------------------------------- statistics


@dataclass(frozen=True)
class WaitlistStats:
    waited: int
    served: int
    median_wait_seconds: float | None


async def stats(
    *,
    schedule_id: int | None = None,
    department_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> WaitlistStats:
    query = WaitlistEntry.all()
    if schedule_id is not None:
        query = query.filter(schedule_id=schedule_id)
    if department_id is not None:
        query = query.filter(department_id=department_id)
    if date_from is not None:
        query = query.filter(visit_date__gte=date_from)
    if date_to is not None:
        query = query.filter(visit_date__lte=date_to)
    rows = [
        row
        for row in await query.values("status", "joined_at", "served_at", "fee_due", "fee_paid")
        # A prepaid entry whose fee never arrived was never in line: it did not wait.
        if row["fee_paid"] >= row["fee_due"]
    ]
    waits = sorted(
        (row["served_at"] - row["joined_at"]).total_seconds()
        for row in rows
        if row["status"] == W.BOOKED and row["served_at"] is not None
    )
    median = None
    if waits:
        middle = len(waits) // 2
        median = waits[middle] if len(waits) % 2 else (waits[middle - 1] + waits[middle]) / 2
    return WaitlistStats(waited=len(rows), served=len(waits), median_wait_seconds=median)
