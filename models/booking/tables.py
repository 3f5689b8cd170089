"""The booking aggregate's tables: the booking, its status history and the per-account daily quota."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.booking.status import BookingStatus
from models.errors import NotFound

if TYPE_CHECKING:
    from models.accounts import Account, Patient
    from models.scheduling import Schedule, Slot

# Bookings placed by the waitlist carry this idempotency-key prefix and the entry's id.
WAITLIST_KEY_PREFIX = "waitlist:"
# Walk-ins registered at the desk (现场挂号) carry this prefix before the window's key: 预约诊疗率 tells
# them from bookings made in advance by it (docs/decisions/251).
DESK_KEY_PREFIX = "desk:"


class Booking(Model):
    id = fields.IntField(primary_key=True)
    account_id: int
    patient_id: int
    schedule_id: int
    slot_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="bookings", on_delete=fields.RESTRICT
    )
    patient: fields.ForeignKeyRelation[Patient] = fields.ForeignKeyField(
        "models.Patient", related_name="bookings", on_delete=fields.RESTRICT
    )
    schedule: fields.ForeignKeyRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name="bookings", on_delete=fields.RESTRICT
    )
    slot: fields.ForeignKeyRelation[Slot] = fields.ForeignKeyField(
        "models.Slot", related_name="bookings", on_delete=fields.RESTRICT
    )
    department_id = fields.IntField(db_index=True)
    visit_date = fields.DateField(db_index=True)
    # Copied from the slot at booking time (slots never move), so lists need no join.
    slot_starts_at = fields.DatetimeField()
    slot_ends_at = fields.DatetimeField()
    status = fields.CharEnumField(BookingStatus, max_length=20, db_index=True)
    queue_number = fields.IntField()
    fee = fields.IntField()  # fen
    expires_at = fields.DatetimeField(null=True, db_index=True)  # end of the payment hold
    # Uniqueness of active bookings, portable to every database: these keys are set while the
    # booking is active and NULL afterwards, and unique indexes ignore NULLs.
    active_session_key = fields.CharField(max_length=64, null=True, unique=True)
    active_department_day_key = fields.CharField(max_length=64, null=True, unique=True)
    idempotency_key = fields.CharField(max_length=80)
    request_fingerprint = fields.CharField(max_length=64)
    cancel_reason = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "booking"
        unique_together = (("account", "idempotency_key"), ("schedule", "queue_number"))


class BookingEvent(Model):
    # Every status change of a booking: time, actor and reason.
    id = fields.BigIntField(primary_key=True)
    booking_id: int
    booking: fields.ForeignKeyRelation[Booking] = fields.ForeignKeyField(
        "models.Booking", related_name="events", on_delete=fields.CASCADE
    )
    from_status = fields.CharEnumField(BookingStatus, max_length=20, null=True)
    to_status = fields.CharEnumField(BookingStatus, max_length=20)
    actor_id = fields.IntField(null=True)
    reason = fields.CharField(max_length=255, default="")
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "booking_event"
        # A booking's history, and the seat refills read from it (models/statistics/refills.py).
        indexes = (("booking_id",),)


class BookingQuota(Model):
    # Active bookings of an account for one visit day. A conditional increment (`active < limit`)
    # enforces the per-account daily quota atomically; leaving an active status decrements it.
    id = fields.IntField(primary_key=True)
    account_id = fields.IntField()
    visit_date = fields.DateField()
    active = fields.IntField(default=0)

    class Meta:
        table = "booking_quota"
        unique_together = (("account_id", "visit_date"),)


class DeskPayment(Model):
    # Money taken at the window: cash, bank card or a 医保 card, by method name; amount in fen.
    id = fields.IntField(primary_key=True)
    booking_id: int
    booking: fields.ForeignKeyRelation[Booking] = fields.ForeignKeyField(
        "models.Booking", related_name="desk_payments", on_delete=fields.RESTRICT
    )
    method = fields.CharField(max_length=32)
    amount = fields.IntField()
    receipt_no = fields.CharField(max_length=32, unique=True)
    registrar_id = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "desk_payment"


async def booking_of(booking_id: int, account_id: int | None) -> Booking:
    """The booking, scoped to an account when one is given (a patient sees only their own)."""
    query = Booking.filter(id=booking_id)
    if account_id is not None:
        query = query.filter(account_id=account_id)
    booking = await query.first()
    if booking is None:
        raise NotFound("no such booking")
    return booking


def active_session_key(patient_id: int, schedule_id: int) -> str:
    return f"{patient_id}:{schedule_id}"


def active_department_day_key(patient_id: int, department_id: int, visit_date: object) -> str:
    return f"{patient_id}:{department_id}:{visit_date}"


def desk_key(window_key: str) -> str:
    """The stored idempotency key of a walk-in: prefixed, and hashed when the prefix would overflow
    the column (a hash of a different key never equals it, so a retried press still finds its booking)."""
    if len(DESK_KEY_PREFIX) + len(window_key) <= 80:
        return DESK_KEY_PREFIX + window_key
    return DESK_KEY_PREFIX + hashlib.sha256(window_key.encode()).hexdigest()


def is_walk_in(idempotency_key: str) -> bool:
    return idempotency_key.startswith(DESK_KEY_PREFIX)


def waitlist_entry_of(booking: Booking) -> int | None:
    """The waitlist entry that placed this booking, if the waitlist did."""
    key = booking.idempotency_key
    return int(key.removeprefix(WAITLIST_KEY_PREFIX)) if key.startswith(WAITLIST_KEY_PREFIX) else None
