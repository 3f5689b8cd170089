"""What each change causes, in one place.

Every aggregate has one status writer that returns a small frozen change record (BookingChanged,
WaitlistChanged, TicketChanged, ScheduleChanged, and the payments' OrderChanged and RefundChanged). This
module is the only one that calls those writers and the only one that imports several aggregates:
`change_*` write a status and apply its effects in the caller's transaction, and `react` maps a record
to those effects (seats and quota back, the waitlist offered the seat, refund and close jobs, patient
notices, the visit reminder, the bookings a ticket or a stopped session drags along, and the statistics
rollup). Nothing here publishes: callers publish after commit. See docs/decisions/120-reactions.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.expressions import F

from models import jobs, public_changes
from models.accounts import Patient, text_phone
from models.booking import notices
from models.booking.status import ACTIVE, CANCELLABLE_BY_STOP, RELEASES_SEAT, BookingStatus
from models.booking.tables import Booking, BookingQuota
from models.booking.transition import BookingChanged
from models.booking.transition import write_status as write_booking_status
from models.catalogue import Department, Room
from models.notifications import notice_defaults, notify
from models.payments import (
    PAYMENT_CLOSE,
    PAYMENT_REFUND,
    WAITLIST_REFUND,
    OrderChanged,
    PaymentOrder,
    PaymentStatus,
    Refund,
    RefundChanged,
    RefundStatus,
    paid_for_booking,
)
from models.payments.writers import settle_refund, transition_order
from models.queueing import BOOKING_FOLLOWS, QueueTicket, TicketChanged, TicketState
from models.queueing import write_state as write_ticket_state
from models.reminders import schedule_visit_reminder
from models.schedule_stop_requests import (
    ScheduleStopRequest,
    StopApproval,
    StopRequestChanged,
    StopRequestStatus,
)
from models.schedule_stop_requests import write_status as write_stop_request_status
from models.scheduling import Schedule, ScheduleChanged, ScheduleStatus, Slot
from models.scheduling import write_status as write_schedule_status
from models.statistics import rollup
from models.waitlist import entries
from models.waitlist.entries import WaitlistChanged, WaitlistEntry, WaitlistMode, WaitlistStatus

Change = (
    BookingChanged
    | WaitlistChanged
    | TicketChanged
    | ScheduleChanged
    | StopRequestChanged
    | OrderChanged
    | RefundChanged
)

B = BookingStatus
W = WaitlistStatus


# ---------------------------------------------------------------- the writers, with their effects


async def change_booking(
    booking: Booking,
    target: BookingStatus,
    *,
    actor_id: int | None,
    reason: str = "",
    updates: dict[str, Any] | None = None,
    at: datetime | None = None,
    stopped_session: bool = False,
) -> Booking:
    """A booking's status change and everything it causes, inside the caller's transaction."""
    change = await write_booking_status(
        booking,
        target,
        actor_id=actor_id,
        reason=reason,
        updates=updates,
        at=at,
        stopped_session=stopped_session,
    )
    await react(change)
    return booking


async def move_entry(
    entry: WaitlistEntry, target: WaitlistStatus, *, reason: str = "", **updates: object
) -> WaitlistEntry:
    await react(await entries.write_status(entry, target, reason=reason, **updates))
    return entry


async def change_ticket(
    ticket: QueueTicket,
    target: TicketState,
    *,
    actor_id: int | None,
    updates: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> QueueTicket:
    await react(await write_ticket_state(ticket, target, actor_id=actor_id, updates=updates, at=at))
    return ticket


async def change_schedule(
    schedule: Schedule,
    target: ScheduleStatus,
    *,
    actor_id: int | None,
    reason: str,
    approving: StopApproval | None = None,
) -> Schedule:
    """`approving`: the doctor's request this stop carries out; it is APPROVED here, before the
    reaction overtakes any other pending request of the session."""
    change = await write_schedule_status(schedule, target, actor_id=actor_id, reason=reason)
    if approving is not None:
        await change_stop_request(
            approving.request, StopRequestStatus.APPROVED, actor_id=actor_id, note=approving.note
        )
    await react(change)
    return schedule


async def change_stop_request(
    request: ScheduleStopRequest, target: StopRequestStatus, *, actor_id: int | None, note: str = ""
) -> ScheduleStopRequest:
    await react(await write_stop_request_status(request, target, actor_id=actor_id, note=note))
    return request


async def change_order(
    order: PaymentOrder,
    target: PaymentStatus,
    *,
    raw: dict[str, Any] | None,
    reason: str = "",
    updates: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> PaymentOrder:
    """A payment order's status change; money arriving is counted as revenue in the same transaction.
    The booking and refund consequences stay with the payment use cases (resolvers/payments/)."""
    await react(await transition_order(order, target, raw=raw, reason=reason, updates=updates, at=at))
    return order


async def change_refund(
    refund: Refund,
    target: RefundStatus,
    *,
    order: PaymentOrder,
    raw: dict[str, Any] | None,
    reason: str = "",
    updates: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Refund:
    await react(
        await settle_refund(refund, target, order=order, raw=raw, reason=reason, updates=updates, at=at)
    )
    return refund


# ---------------------------------------------------------------- the map from change to effects


async def react(change: Change) -> None:
    note_public(change)
    if isinstance(change, BookingChanged):
        await _booking_changed(change)
    elif isinstance(change, WaitlistChanged):
        await _entry_changed(change)
    elif isinstance(change, TicketChanged):
        await _ticket_changed(change)
    elif isinstance(change, ScheduleChanged):
        await _schedule_changed(change)
    # A stop request's decision has no effect of its own: approval runs the 停诊 path, whose
    # ScheduleChanged brings the cancellations, refunds and notices (docs/decisions/231).
    await roll_up(change)


def note_public(change: Change) -> None:
    """What browsing shows changed: a seat taken or given back, a session stopped (docs/decisions/260).
    The one-statement placement calls this itself, since it has no other reaction."""
    if isinstance(change, BookingChanged):
        if change.placed or (change.from_status in ACTIVE and change.to_status in RELEASES_SEAT):
            public_changes.note_session(change.schedule_id, change.slot_id)
    elif isinstance(change, ScheduleChanged):
        public_changes.note_session(change.schedule_id)


async def roll_up(change: Change) -> None:
    """The statistics rollup: every change passes here, in its transaction (docs/decisions/180)."""
    if isinstance(change, BookingChanged):
        if not (change.placed and change.notified):  # the one-statement placement rolled itself up
            await rollup.booking_changed(change)
    elif isinstance(change, ScheduleChanged):
        await rollup.schedule_changed(change)
    elif isinstance(change, TicketChanged):
        if change.to_state is TicketState.DONE:
            await rollup.consultation_finished(change)
    elif isinstance(change, WaitlistChanged):
        await rollup.entry_changed(change)
    elif isinstance(change, OrderChanged):
        # Money arrived (also on an order we had closed or seen fail: the provider's word wins).
        if change.to_status is PaymentStatus.PAID and change.from_status is not PaymentStatus.REFUNDING:
            await rollup.order_paid(change)
    elif isinstance(change, RefundChanged) and change.to_status is RefundStatus.SUCCEEDED:
        await rollup.refund_succeeded(change)
    # A stop request's decision counts nothing itself: the stop it approves is a ScheduleChanged.


async def _booking_changed(change: BookingChanged) -> None:
    if change.placed:
        await _booking_placed(change)
        return
    source, target = change.from_status, change.to_status
    assert source is not None
    if source in ACTIVE and target not in ACTIVE:
        # Lock order as in placement: the account's quota row, then the slot row.
        await BookingQuota.filter(account_id=change.account_id, visit_date=change.visit_date).update(
            active=F("active") - 1
        )
    if source in ACTIVE and target in RELEASES_SEAT:
        await _seat_freed(change)
    if source is B.CONFIRMED and target is B.CANCELLED and change.fee > 0:
        await jobs.enqueue(
            PAYMENT_REFUND,
            {"booking_id": change.booking_id, "reason": change.reason[:255]},
            dedupe_key=f"refund:{change.booking_id}",
        )
    if source is B.PENDING_PAYMENT and target in RELEASES_SEAT and change.fee > 0:
        # A payment may be open at the provider: close it so it cannot be paid after the seat is gone.
        await jobs.enqueue(
            PAYMENT_CLOSE, {"booking_id": change.booking_id}, dedupe_key=f"close:{change.booking_id}"
        )
        if await paid_for_booking(change.booking_id) > 0:
            # A rescheduled booking waiting for a fee difference holds the paid orders it brought.
            await jobs.enqueue(
                PAYMENT_REFUND,
                {"booking_id": change.booking_id, "reason": change.reason[:255]},
                dedupe_key=f"refund:{change.booking_id}",
            )
    if change.waitlist_entry_id is not None:
        await _settle_offer(change)
    notice = notices.NOTIFY_ON.get(target)
    if change.stopped_session:
        paid = source is B.CONFIRMED and change.fee > 0
        notice = notices.STOPPED_NOTICE if paid else notices.STOPPED_UNPAID_NOTICE
    if notice is not None:
        await notices.notify_patient(change, notice)
    if target is B.CONFIRMED:
        await _remind(change)


async def _booking_placed(change: BookingChanged) -> None:
    if change.notified:
        return  # the one-statement placement wrote the confirmation and the reminder itself
    if change.waitlist_entry_id is not None:
        await notices.notify_waitlist_placement(change)
    elif change.to_status is B.CONFIRMED:
        await notices.notify_patient(change, notices.CONFIRMED_NOTICE)
    if change.to_status is B.CONFIRMED:
        await _remind(change)


async def _seat_freed(change: BookingChanged) -> None:
    # While someone waits for this session the freed seat is withheld from the public pool
    # (reserved) and the durable seat.freed job gives it to the first waiter, so the waitlist really
    # comes first; otherwise the seat returns to the pool at once. A stopped session's seat can no
    # longer be booked by anyone.
    reserved = not change.stopped_session and await entries.has_waiters_for_schedule(change.schedule_id)
    if not reserved:
        await Slot.filter(id=change.slot_id).update(remaining=F("remaining") + 1)
    if not change.stopped_session:
        await jobs.enqueue(
            jobs.SEAT_FREED,
            {"slot_id": change.slot_id, "schedule_id": change.schedule_id, "reserved": reserved},
        )


async def _settle_offer(change: BookingChanged) -> None:
    # An offer's booking settles its entry: accepted (paid), lapsed or declined.
    outcome = {
        B.CONFIRMED: (W.BOOKED, ""),
        B.EXPIRED: (W.EXPIRED, "the offer was not accepted in time"),
        B.CANCELLED: (W.LEFT, "the offer was declined"),
    }.get(change.to_status)
    if outcome is None:
        return
    entry = await WaitlistEntry.filter(booking_id=change.booking_id, status=W.OFFERED).first()
    if entry is None:
        return
    target, reason = outcome
    served = {"served_at": change.at} if target is W.BOOKED else {}
    await move_entry(entry, target, reason=reason, **served)


async def _remind(change: BookingChanged) -> None:
    defaults = notice_defaults()
    await schedule_visit_reminder(
        change.booking_id,
        hour=defaults.visit_reminder_hour,
        tz_name=defaults.tz_name,
        visit_date=change.visit_date,
    )


async def _entry_changed(change: WaitlistChanged) -> None:
    source, target = change.from_status, change.to_status
    if source is W.AWAITING_PAYMENT and target is W.WAITING:
        await tell_joined(change)
    if source is W.AWAITING_PAYMENT and target in {W.EXPIRED, W.LEFT}:
        # Left without paying: the open order is closed at the provider by the payments' close job.
        await jobs.enqueue(
            PAYMENT_CLOSE, {"waitlist_entry_id": change.entry_id}, dedupe_key=f"close-entry:{change.entry_id}"
        )
    if source is W.WAITING and target is W.EXPIRED:
        await _tell_entry(change, "waitlist.expired", {"visit_time": change.visit_date})
    if source is W.WAITING and target in {W.EXPIRED, W.LEFT}:
        await _refund_prepayment(change)


async def tell_joined(change: WaitlistChanged | WaitlistEntry) -> None:
    """The patient is in line: told their place. Also for an entry that joins straight into line."""
    if isinstance(change, WaitlistEntry):
        entry = change
    else:
        entry = await WaitlistEntry.get(id=change.entry_id)
    await _tell_entry(
        change,
        "waitlist.joined",
        {"visit_date": entry.visit_date, "position": await entries.position(entry)},
    )


async def _tell_entry(subject: WaitlistChanged | WaitlistEntry, event: str, params: dict[str, Any]) -> None:
    entry_id = subject.entry_id if isinstance(subject, WaitlistChanged) else subject.id
    patient = await Patient.get(id=subject.patient_id)
    department = await Department.get(id=subject.department_id)
    await notify(
        subject.account_id,
        event,
        {"patient_name": patient.name, "department": department.name, **params},
        dedupe_key=f"{event}:{entry_id}",
        phone=text_phone(patient),
    )


async def _refund_prepayment(change: WaitlistChanged) -> None:
    # A prepaid entry that ends without a seat gets its fee back. The dedupe key and the order's own
    # state machine make it once, whichever path asks.
    if change.mode is WaitlistMode.PREPAID and change.fee_paid > 0:
        reason = "waitlist expired" if change.to_status is W.EXPIRED else "left the waitlist"
        await jobs.enqueue(
            WAITLIST_REFUND,
            {"entry_id": change.entry_id, "amount": change.fee_paid, "reason": reason},
            dedupe_key=f"waitlist-refund:{change.entry_id}",
        )


async def _ticket_changed(change: TicketChanged) -> None:
    if change.to_state is TicketState.CALLED:
        await _tell_called(change)
    follows = BOOKING_FOLLOWS.get((change.from_state, change.to_state))
    if follows is not None:
        booking = await Booking.get(id=change.booking_id)
        await change_booking(
            booking,
            follows,
            actor_id=change.actor_id,
            reason=f"queue: {change.from_state.value} -> {change.to_state.value}",
        )


async def _tell_called(change: TicketChanged) -> None:
    # 轮到您了: in-app and by SMS, once per call (a restored patient called again is told again).
    ticket = await QueueTicket.get(id=change.ticket_id)
    booking = await Booking.get(id=change.booking_id)
    patient = await Patient.get(id=booking.patient_id)
    room = await Room.get(id=change.room_id)
    await notify(
        booking.account_id,
        "queue.your_turn",
        {"patient_name": patient.name, "room": room.name, "ticket": ticket.label},
        dedupe_key=f"queue.your_turn:{change.ticket_id}:{change.at.isoformat()}",
        booking_id=booking.id,
        phone=patient.phone,
    )


async def _schedule_changed(change: ScheduleChanged) -> None:
    if change.to_status is not ScheduleStatus.STOPPED:
        return
    # A doctor's pending request to stop this session is overtaken: approving it later is a no-op.
    for request in await ScheduleStopRequest.filter(
        schedule_id=change.schedule_id, status=StopRequestStatus.PENDING
    ):
        await change_stop_request(
            request, StopRequestStatus.OVERTAKEN, actor_id=change.actor_id, note="the session was stopped"
        )
    # 停诊: every booking that has not reached the doctor is cancelled with the reason; refunds and
    # the stop notice follow from each booking's own change.
    reason = f"停诊: {change.reason}"
    for booking in await Booking.filter(
        schedule_id=change.schedule_id, status__in=list(CANCELLABLE_BY_STOP)
    ).order_by("id"):
        await change_booking(
            booking,
            B.CANCELLED,
            actor_id=change.actor_id,
            reason=reason,
            updates={"cancel_reason": reason[:255]},
            stopped_session=True,
        )
