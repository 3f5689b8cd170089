"""Reminders as durable jobs with a run time (models/jobs.py): they survive restarts, and each is
sent only if its booking is still in a status that wants it when the job runs, so a cancelled booking
gets no reminder without anyone having to find and delete its jobs
(docs/decisions/074-reminders.md)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from models import jobs
from models.accounts import Patient
from models.booking.status import BookingStatus
from models.booking.tables import Booking
from models.catalogue import Department, Doctor, Room
from models.clock import utcnow
from models.errors import InvalidInput, NotAllowed, NotFound
from models.notifications import notify
from models.scheduling import Schedule
from models.text_rules import clean_text

VISIT_REMINDER = "reminder.visit"
FOLLOWUP_REMINDER = "reminder.followup"
REMINDER_KINDS = (VISIT_REMINDER, FOLLOWUP_REMINDER)

# A day-before reminder only for a booking that is still going ahead.
VISIT_REMINDED = frozenset({BookingStatus.CONFIRMED})
# A follow-up is set after (or during) a visit; only a booking that was cancelled or lapsed loses it.
FOLLOWUP_CANCELLED_BY = frozenset({BookingStatus.CANCELLED, BookingStatus.EXPIRED})


def local_time_on(day: date, hour: int, tz_name: str) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(tz_name))


def visit_reminder_at(visit_date: date, now: datetime, hour: int, tz_name: str) -> datetime | None:
    """When the day-before reminder of a visit is due; None when that has passed (a booking made
    after the reminder time gets none: the confirmation text has just told the patient)."""
    run_at = local_time_on(visit_date - timedelta(days=1), hour, tz_name)
    return run_at if run_at > now else None


async def schedule_visit_reminder(
    booking_id: int, *, hour: int, tz_name: str, visit_date: date | None = None
) -> jobs.Job | None:
    """Inside the confirming transaction. Callers that know the visit date pass it, saving a read."""
    if visit_date is None:
        visit_date = (await Booking.get(id=booking_id)).visit_date
    run_at = visit_reminder_at(visit_date, utcnow(), hour, tz_name)
    if run_at is None:
        return None
    return await jobs.enqueue(
        VISIT_REMINDER, {"booking_id": booking_id}, run_at=run_at, dedupe_key=f"{VISIT_REMINDER}:{booking_id}"
    )


async def set_followup_reminder(
    doctor_account_id: int, booking_id: int, on: date, note: str, *, hour: int, tz_name: str
) -> datetime:
    """A doctor asks a patient to come back; returns when the reminder will be sent."""
    note = clean_text(note, field="note", max_length=200, required=False)
    run_at = local_time_on(on, hour, tz_name)
    if run_at <= utcnow():
        raise InvalidInput("date", "the follow-up reminder must be for a later date")
    if on > utcnow().date() + timedelta(days=366):
        raise InvalidInput("date", "a follow-up reminder is at most a year ahead")
    booking = await Booking.get_or_none(id=booking_id)
    if booking is None:
        raise NotFound("booking not found")
    schedule = await Schedule.get(id=booking.schedule_id)
    doctor = await Doctor.get_or_none(account_id=doctor_account_id)
    if doctor is None or doctor.id != schedule.doctor_id:
        raise NotAllowed("only the booking's doctor may set its follow-up reminder")
    if booking.status in FOLLOWUP_CANCELLED_BY:
        raise NotAllowed("this booking was cancelled")
    async with in_transaction():
        await jobs.enqueue(
            FOLLOWUP_REMINDER,
            {"booking_id": booking_id, "date": on.isoformat(), "note": note},
            run_at=run_at,
            dedupe_key=f"{FOLLOWUP_REMINDER}:{booking_id}:{on.isoformat()}",
        )
    return run_at


async def _booking_params(booking: Booking) -> dict[str, Any]:
    schedule = await Schedule.get(id=booking.schedule_id)
    patient = await Patient.get(id=booking.patient_id)
    department = await Department.get(id=schedule.department_id)
    doctor = await Doctor.get(id=schedule.doctor_id)
    room = await Room.get(id=schedule.room_id)
    location = " ".join(part for part in (room.building, room.floor, room.name) if part)
    return {
        "patient_name": patient.name,
        "department": department.name,
        "doctor": doctor.name,
        "starts_at": booking.slot_starts_at,
        "location": location,
    }


async def send_visit_reminder(job: jobs.Job) -> None:
    booking_id = int(job.payload["booking_id"])
    async with in_transaction():
        booking = await Booking.get_or_none(id=booking_id)
        if booking is None or booking.status not in VISIT_REMINDED:
            return  # cancelled, expired or otherwise settled since it was scheduled: nothing to say
        facts = await _booking_params(booking)
        await notify(
            booking.account_id,
            "visit.reminder",
            {
                "patient_name": facts["patient_name"],
                "department": facts["department"],
                "visit_time": facts["starts_at"],
                "location": facts["location"],
            },
            dedupe_key=f"{VISIT_REMINDER}:{booking_id}",
            booking_id=booking_id,
        )


async def send_followup_reminder(job: jobs.Job) -> None:
    booking_id = int(job.payload["booking_id"])
    async with in_transaction():
        booking = await Booking.get_or_none(id=booking_id)
        if booking is None or booking.status in FOLLOWUP_CANCELLED_BY:
            return
        facts = await _booking_params(booking)
        await notify(
            booking.account_id,
            "followup.reminder",
            {
                "patient_name": facts["patient_name"],
                "department": facts["department"],
                "doctor": facts["doctor"],
                "date": date.fromisoformat(job.payload["date"]),
                "note": job.payload.get("note", ""),
            },
            dedupe_key=f"{FOLLOWUP_REMINDER}:{booking_id}:{job.payload['date']}",
            booking_id=booking_id,
        )


def reminder_handlers() -> dict[str, jobs.Handler]:
    return {VISIT_REMINDER: send_visit_reminder, FOLLOWUP_REMINDER: send_followup_reminder}
