"""The waitlist (候补) entry: its table, statuses, one transition table and one status writer, and
how entries line up. What an entry's change causes is decided in models/reactions.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tortoise import fields
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.accounts import Account, Patient
from models.clock import utcnow
from models.errors import DomainError, InvalidTransition, writable_updates
from models.scheduling import Schedule


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
    account_id: int
    patient_id: int
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
        entry.patient_id,
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


@dataclass(frozen=True)
class WaitlistChanged:
    """One entry entering a status, for models/reactions.py."""

    entry_id: int
    account_id: int
    patient_id: int
    department_id: int
    visit_date: date
    mode: WaitlistMode
    fee_paid: int
    booking_id: int | None
    from_status: WaitlistStatus
    to_status: WaitlistStatus
    reason: str


async def write_status(
    entry: WaitlistEntry, target: WaitlistStatus, *, reason: str = "", **updates: object
) -> WaitlistChanged:
    """The only function that changes an entry's status: conditional on the status read, so exactly
    once. `reason` is kept as the entry's `ended_reason` when it leaves the line."""
    current = entry.status
    if not can_transition(current, target):
        raise InvalidTransition("waitlist entry", current.value, target.value)
    values: dict[str, object] = dict(writable_updates(updates, state_column="status"))
    if target not in ACTIVE:
        values["active_key"] = None
        if reason:
            values["ended_reason"] = reason[:255]
    values["status"] = target  # last: nothing above may set it
    changed = await WaitlistEntry.filter(id=entry.id, status=current).update(**values)
    if changed != 1:
        fresh = await WaitlistEntry.get(id=entry.id)
        raise InvalidTransition("waitlist entry", fresh.status.value, target.value)
    for key, value in values.items():
        setattr(entry, key, value)
    return WaitlistChanged(
        entry_id=entry.id,
        account_id=entry.account_id,
        patient_id=entry.patient_id,
        department_id=entry.department_id,
        visit_date=entry.visit_date,
        mode=entry.mode,
        fee_paid=entry.fee_paid,
        booking_id=entry.booking_id,
        from_status=current,
        to_status=target,
        reason=reason,
    )


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


def matching_entries(schedule: Schedule) -> QuerySet[WaitlistEntry]:
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


async def has_waiters(schedule: Schedule) -> bool:
    return await matching_entries(schedule).filter(status=W.WAITING, deadline__gt=utcnow()).exists()


async def has_waiters_for_schedule(schedule_id: int) -> bool:
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
