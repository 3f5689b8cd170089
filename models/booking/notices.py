"""What a patient is told when their booking changes: which template, with which words."""

from __future__ import annotations

from typing import Any

from models.accounts import Patient, text_phone
from models.booking.status import BookingStatus
from models.booking.transition import BookingChanged, NoticeFacts
from models.catalogue import Department, Doctor
from models.notifications import notify
from models.scheduling import Schedule

S = BookingStatus

# What the patient is told when a booking enters a status: (template, dedupe prefix, fixed reason).
# There is no template of its own for an expired hold; it is a cancellation with the reason given.
NOTIFY_ON: dict[BookingStatus, tuple[str, str, str | None]] = {
    S.CONFIRMED: ("booking.confirmed", "booking.confirmed", None),
    S.CANCELLED: ("booking.cancelled", "booking.cancelled", None),
    S.EXPIRED: ("booking.cancelled", "booking.expired", "未在时限内支付 (payment window elapsed)"),
    S.NO_SHOW: ("booking.no_show", "booking.no_show", None),
}
# 停诊: a refund is promised only to a booking that was paid for.
STOPPED_NOTICE = ("schedule.stopped", "booking.stopped", None)
STOPPED_UNPAID_NOTICE = ("schedule.stopped_unpaid", "booking.stopped", None)
# A patient's own cancellation: their reason is theirs to read in the app, never the hospital's text.
OWN_CANCELLATION = "本人取消"
CONFIRMED_NOTICE = NOTIFY_ON[S.CONFIRMED]


async def notice_facts(change: BookingChanged) -> NoticeFacts:
    if change.facts is not None:
        return change.facts
    schedule = await Schedule.get(id=change.schedule_id)
    patient = await Patient.get(id=change.patient_id)
    doctor = await Doctor.get(id=schedule.doctor_id)
    department = await Department.get(id=schedule.department_id)
    return NoticeFacts(patient.name, text_phone(patient) or "", department.name, doctor.name)


def notice_params(
    change: BookingChanged,
    notice: tuple[str, str, str | None],
    facts: NoticeFacts,
    queue_number: int | str | None = None,
) -> dict[str, Any]:
    event, _, fixed_reason = notice
    params: dict[str, Any] = {
        "patient_name": facts.patient_name,
        "department": facts.department,
        "visit_time": change.slot_starts_at,
    }
    if event == "booking.confirmed":
        params.update(doctor=facts.doctor, queue_number=queue_number or change.queue_number)
    else:
        params["reason"] = fixed_reason or change.reason or "-"
    return params


async def notify_patient(change: BookingChanged, notice: tuple[str, str, str | None]) -> None:
    """The patient's SMS and in-app message, in the caller's transaction, once per booking and kind."""
    event, kind, _ = notice
    facts = await notice_facts(change)
    params = notice_params(change, notice, facts)
    sms_params = None
    if "reason" in params and change.actor_id == change.account_id and notice[2] is None:
        sms_params = {**params, "reason": OWN_CANCELLATION}
    await notify(
        change.account_id,
        event,
        params,
        sms_params=sms_params,
        dedupe_key=f"{kind}:{change.booking_id}",
        booking_id=change.booking_id,
        phone=facts.patient_phone or None,
    )


async def notify_waitlist_placement(change: BookingChanged) -> None:
    """A seat given by the waitlist: an offer to accept and pay, or a booking already made."""
    assert change.waitlist_entry_id is not None
    facts = await notice_facts(change)
    base = {
        "patient_name": facts.patient_name,
        "department": facts.department,
        "visit_time": change.slot_starts_at,
    }
    if change.to_status is S.PENDING_PAYMENT:
        await notify(
            change.account_id,
            "waitlist.offered",
            {**base, "expires_time": change.expires_at},
            dedupe_key=f"waitlist.offered:{change.waitlist_entry_id}:{change.booking_id}",
            booking_id=change.booking_id,
            phone=facts.patient_phone or None,
        )
    else:
        await notify(
            change.account_id,
            "waitlist.booked",
            {**base, "queue_number": change.queue_number},
            dedupe_key=f"waitlist.booked:{change.waitlist_entry_id}",
            booking_id=change.booking_id,
            phone=facts.patient_phone or None,
        )
