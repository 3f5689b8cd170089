from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.expressions import F
from tortoise.models import Model

from models.clock import utcnow
from models.errors import InvalidTransition


class BookingStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    IN_CONSULTATION = "in_consultation"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    NO_SHOW = "no_show"


S = BookingStatus

# The one transition table of the booking aggregate. Every status change goes through `transition`.
TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.CONFIRMED, S.CANCELLED, S.EXPIRED}),
    S.CONFIRMED: frozenset({S.CHECKED_IN, S.CANCELLED, S.NO_SHOW}),
    # A checked-in patient who never answers the call is a no-show when the session ends.
    S.CHECKED_IN: frozenset({S.IN_CONSULTATION, S.NO_SHOW}),
    # Back to CHECKED_IN: sent for tests and re-entering the queue (回诊).
    S.IN_CONSULTATION: frozenset({S.COMPLETED, S.CHECKED_IN}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
    S.NO_SHOW: frozenset(),
}

# Statuses that hold a seat and count as the patient's active booking.
ACTIVE = frozenset({S.PENDING_PAYMENT, S.CONFIRMED, S.CHECKED_IN, S.IN_CONSULTATION})
# Leaving an active status for one of these gives the seat back to the slot.
RELEASES_SEAT = frozenset({S.CANCELLED, S.EXPIRED})

# FHIR R4 Appointment.status for each of ours (a test maps them).
FHIR_STATUS: dict[BookingStatus, str] = {
    S.PENDING_PAYMENT: "pending",
    S.CONFIRMED: "booked",
    S.CHECKED_IN: "checked-in",
    S.IN_CONSULTATION: "arrived",
    S.COMPLETED: "fulfilled",
    S.CANCELLED: "cancelled",
    S.EXPIRED: "cancelled",
    S.NO_SHOW: "noshow",
}


SEAT_FREED = "seat.freed"


def can_transition(current: BookingStatus, target: BookingStatus) -> bool:
    return target in TRANSITIONS[current]


class Booking(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[object] = fields.ForeignKeyField(
        "models.Account", related_name="bookings", on_delete=fields.RESTRICT
    )
    patient: fields.ForeignKeyRelation[object] = fields.ForeignKeyField(
        "models.Patient", related_name="bookings", on_delete=fields.RESTRICT
    )
    schedule: fields.ForeignKeyRelation[object] = fields.ForeignKeyField(
        "models.Schedule", related_name="bookings", on_delete=fields.RESTRICT
    )
    slot: fields.ForeignKeyRelation[object] = fields.ForeignKeyField(
        "models.Slot", related_name="bookings", on_delete=fields.RESTRICT
    )
    department_id = fields.IntField(db_index=True)
    visit_date = fields.DateField(db_index=True)
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


def active_session_key(patient_id: int, schedule_id: int) -> str:
    return f"{patient_id}:{schedule_id}"


def active_department_day_key(patient_id: int, department_id: int, visit_date: object) -> str:
    return f"{patient_id}:{department_id}:{visit_date}"


async def transition(
    booking: Booking,
    target: BookingStatus,
    *,
    actor_id: int | None,
    reason: str = "",
    updates: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Booking:
    """The only way a booking changes status. Must run inside a transaction.

    A conditional UPDATE on the current status makes the change exactly-once across processes:
    whoever loses the race gets InvalidTransition, never a second change.
    """
    current = booking.status
    if not can_transition(current, target):
        raise InvalidTransition("booking", current.value, target.value)
    values: dict[str, Any] = {"status": target, "updated_at": at or utcnow(), **(updates or {})}
    if target not in ACTIVE:
        values["active_session_key"] = None
        values["active_department_day_key"] = None
    if target is not S.PENDING_PAYMENT:
        values.setdefault("expires_at", None)
    changed = await Booking.filter(id=booking.id, status=current).update(**values)
    if changed != 1:
        fresh = await Booking.get(id=booking.id)
        raise InvalidTransition("booking", fresh.status.value, target.value)
    if current in ACTIVE and target in RELEASES_SEAT:
        from models.scheduling import Slot

        from models import jobs

        await Slot.filter(id=booking.slot_id).update(remaining=F("remaining") + 1)  # type: ignore[attr-defined]
        # The durable hook for the waitlist: a freed seat is offered to waiters first.
        await jobs.enqueue(
            SEAT_FREED, {"slot_id": booking.slot_id, "schedule_id": booking.schedule_id}  # type: ignore[attr-defined]
        )
    await BookingEvent.create(
        booking_id=booking.id, from_status=current, to_status=target, actor_id=actor_id, reason=reason[:255]
    )
    for key, value in values.items():
        setattr(booking, key, value)
    return booking
