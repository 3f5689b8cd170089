"""The booking's one status writer and the change record it returns.

`write_status` changes the status and nothing else of consequence: the active-uniqueness keys and the
hold deadline that go with the status, and the history row. What a change causes elsewhere (seat and
quota back, waitlist, refunds, notices, statistics) is decided by models/reactions.py from the record,
in the same transaction; only that module calls this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from models.booking.status import ACTIVE, BookingStatus, can_transition
from models.booking.tables import Booking, BookingEvent, is_walk_in, waitlist_entry_of
from models.clock import utcnow
from models.errors import InvalidTransition, writable_updates


@dataclass(frozen=True)
class NoticeFacts:
    # What the patient's messages name, when the caller has them at hand (the booking hot path).
    patient_name: str
    patient_phone: str
    department: str
    doctor: str


@dataclass(frozen=True)
class BookingChanged:
    """One booking entering a status: placed (`from_status` None) or moved by `write_status`."""

    booking_id: int
    account_id: int
    patient_id: int
    schedule_id: int
    slot_id: int
    department_id: int
    visit_date: date
    slot_starts_at: datetime
    fee: int
    queue_number: int
    expires_at: datetime | None
    from_status: BookingStatus | None
    to_status: BookingStatus
    actor_id: int | None
    reason: str
    at: datetime
    waitlist_entry_id: int | None = None
    walk_in: bool = False  # registered at the desk (现场挂号)
    # 停诊: the session is stopped, so the stop notice is sent and the freed seat is offered to nobody.
    stopped_session: bool = False
    # The one-statement placement wrote the confirmation's outbox rows and reminder itself.
    notified: bool = False
    facts: NoticeFacts | None = None

    @property
    def placed(self) -> bool:
        return self.from_status is None


def change_of(
    booking: Booking,
    from_status: BookingStatus | None,
    *,
    actor_id: int | None,
    reason: str,
    at: datetime,
    stopped_session: bool = False,
    notified: bool = False,
    facts: NoticeFacts | None = None,
) -> BookingChanged:
    return BookingChanged(
        booking_id=booking.id,
        account_id=booking.account_id,
        patient_id=booking.patient_id,
        schedule_id=booking.schedule_id,
        slot_id=booking.slot_id,
        department_id=booking.department_id,
        visit_date=booking.visit_date,
        slot_starts_at=booking.slot_starts_at,
        fee=booking.fee,
        queue_number=booking.queue_number,
        expires_at=booking.expires_at,
        from_status=from_status,
        to_status=booking.status,
        actor_id=actor_id,
        reason=reason,
        at=at,
        waitlist_entry_id=waitlist_entry_of(booking),
        walk_in=is_walk_in(booking.idempotency_key),
        stopped_session=stopped_session,
        notified=notified,
        facts=facts,
    )


async def write_status(
    booking: Booking,
    target: BookingStatus,
    *,
    actor_id: int | None,
    reason: str = "",
    updates: dict[str, Any] | None = None,
    at: datetime | None = None,
    stopped_session: bool = False,
) -> BookingChanged:
    """The only function that changes a booking's status. Call inside a transaction.

    A conditional UPDATE on the status read makes the change exactly-once across processes: whoever
    loses the race gets InvalidTransition, never a second change. `updates` are other columns of the
    same row and can never carry the status.
    """
    current = booking.status
    if not can_transition(current, target):
        raise InvalidTransition("booking", current.value, target.value)
    now = at or utcnow()
    values: dict[str, Any] = {"updated_at": now, **writable_updates(updates, state_column="status")}
    if target not in ACTIVE:
        values["active_session_key"] = None
        values["active_department_day_key"] = None
    if target is not BookingStatus.PENDING_PAYMENT:
        values.setdefault("expires_at", None)
    values["status"] = target  # last: nothing above may set it
    changed = await Booking.filter(id=booking.id, status=current).update(**values)
    if changed != 1:
        fresh = await Booking.get(id=booking.id)
        raise InvalidTransition("booking", fresh.status.value, target.value)
    await BookingEvent.create(
        booking_id=booking.id,
        from_status=current,
        to_status=target,
        actor_id=actor_id,
        reason=reason[:255],
        at=now,  # the change's own time: the statistics recompute from it (docs/decisions/180)
    )
    for key, value in values.items():
        setattr(booking, key, value)
    return change_of(
        booking, current, actor_id=actor_id, reason=reason, at=now, stopped_session=stopped_session
    )
