"""Editing a session (排班) after it was made: 替诊 (another doctor), another room, other times, another
capacity; closing one slot; deleting a session nobody booked. Each keeps the bookings it may keep and
refuses, with a typed error, what would strand one (docs/decisions/193-schedule-edits.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from tortoise.expressions import F

from models import audit, public_changes
from models.accounts import Patient
from models.booking.status import ACTIVE
from models.booking.tables import Booking
from models.catalogue import Department, Doctor, RegistrationType, Room
from models.errors import DomainError, InvalidInput, NotFound
from models.notifications import notify
from models.scheduling import Schedule, ScheduleStatus, Slot, seat_counters
from models.session_rules import local_datetime, period_of, plan_slots


class SessionOverlaps(DomainError):
    default_message = "the doctor or the room already holds a session at that time"

    def __init__(self, what: str, schedule_id: int) -> None:
        super().__init__(
            f"the {what} already holds session {schedule_id} at that time", what=what, schedule_id=schedule_id
        )


class SessionInThePast(DomainError):
    default_message = "a session cannot start in the past"


class BookingsOutsideNewTimes(DomainError):
    default_message = "some bookings fall outside the new times; move or cancel them first"

    def __init__(self, booking_ids: list[int]) -> None:
        super().__init__(
            f"bookings {', '.join(map(str, booking_ids))} fall outside the new times", booking_ids=booking_ids
        )


class CapacityBelowBooked(DomainError):
    default_message = "the capacity cannot go below the seats already booked"

    def __init__(self, booked: int) -> None:
        super().__init__(f"{booked} seats are booked; the capacity cannot go below that", booked=booked)


class SessionHasBookings(DomainError):
    default_message = "a session with bookings cannot be deleted; stop it (停诊) instead"


@dataclass(frozen=True)
class ScheduleEdit:
    doctor_id: int | None = None
    room_id: int | None = None
    start: time | None = None
    end: time | None = None
    capacity: int | None = None


def check_not_past(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise SessionInThePast()


async def hold_calendars(doctor_id: int, room_id: int) -> None:
    """Lock the doctor's row, then the room's, until the transaction ends, before an overlap check: two
    administrators placing clashing sessions (or templates) for one doctor or room then check one after
    the other, and the second sees the first's session (docs/decisions/232). Always doctor before room,
    so two holders never wait on each other in a circle. SQLite ignores the lock and needs none: its
    one connection runs one transaction at a time."""
    await Doctor.select_for_update().get_or_none(id=doctor_id)
    await Room.select_for_update().get_or_none(id=room_id)


async def check_overlap(
    *, doctor_id: int, room_id: int, starts_at: datetime, ends_at: datetime, ignore: int | None = None
) -> None:
    """A doctor or a room holds one open session at a time."""
    overlapping = Schedule.filter(status=ScheduleStatus.OPEN, starts_at__lt=ends_at, ends_at__gt=starts_at)
    if ignore is not None:
        overlapping = overlapping.exclude(id=ignore)
    for what, clash in (
        ("doctor", await overlapping.filter(doctor_id=doctor_id).first()),
        ("room", await overlapping.filter(room_id=room_id).first()),
    ):
        if clash is not None:
            raise SessionOverlaps(what, clash.id)


SCHEDULE_AUDIT_FIELDS = ("doctor_id", "room_id", "starts_at", "ends_at", "capacity", "status")


async def update_schedule(
    schedule_id: int, edit: ScheduleEdit, *, reason: str, actor_id: int | None, tz: ZoneInfo, now: datetime
) -> Schedule:
    """Call inside a transaction."""
    if not reason.strip():
        raise InvalidInput("reason", "say why the session changes")
    schedule = await Schedule.select_for_update().get_or_none(id=schedule_id)
    if schedule is None:
        raise NotFound("no such session")
    if schedule.status is not ScheduleStatus.OPEN or schedule.ends_at <= now:
        raise InvalidInput("scheduleId", "only an open session that has not ended can change")
    before = audit.snapshot(schedule, SCHEDULE_AUDIT_FIELDS)
    doctor_id: int = edit.doctor_id or schedule.doctor_id
    room_id: int = edit.room_id or schedule.room_id
    local_start, local_end = schedule.starts_at.astimezone(tz), schedule.ends_at.astimezone(tz)
    # In UTC: a conditional UPDATE writes the value as given, and MySQL keeps no offset.
    starts_at = local_datetime(schedule.date, edit.start or local_start.time(), tz).astimezone(UTC)
    ends_at = local_datetime(schedule.date, edit.end or local_end.time(), tz).astimezone(UTC)
    if ends_at <= starts_at:
        raise InvalidInput("endTime", "a session ends after it starts")
    substitute = None
    if edit.doctor_id is not None and edit.doctor_id != schedule.doctor_id:
        substitute = await Doctor.get_or_none(id=edit.doctor_id, archived=False)
        if substitute is None:
            raise InvalidInput("doctorId", "no such doctor")
    if edit.room_id is not None and not await Room.filter(id=edit.room_id, archived=False).exists():
        raise InvalidInput("roomId", "no such room")
    moved = (starts_at, ends_at) != (schedule.starts_at, schedule.ends_at)
    if moved:
        check_not_past(starts_at, now)
    if moved or substitute is not None or edit.room_id is not None:
        await hold_calendars(doctor_id, room_id)
        await check_overlap(
            doctor_id=doctor_id, room_id=room_id, starts_at=starts_at, ends_at=ends_at, ignore=schedule.id
        )
    if moved:
        await _move_times(schedule, starts_at, ends_at)
    if edit.capacity is not None and edit.capacity != schedule.capacity:
        await _change_capacity(schedule, edit.capacity)
    public_changes.note(public_changes.LISTINGS, public_changes.session_tag(schedule.id))
    period = period_of(starts_at.astimezone(tz).time())
    await Schedule.filter(id=schedule.id).update(
        doctor_id=doctor_id, room_id=room_id, starts_at=starts_at, ends_at=ends_at, period=period
    )
    await schedule.refresh_from_db()
    await audit.record(
        actor_id,
        "schedule.update",
        "schedule",
        schedule.id,
        before=before,
        after=audit.snapshot(schedule, SCHEDULE_AUDIT_FIELDS),
        reason=reason[:255],
    )
    if substitute is not None:
        await _tell_substitute(schedule, substitute)
    return schedule


async def _move_times(schedule: Schedule, starts_at: datetime, ends_at: datetime) -> None:
    booked = await Booking.filter(schedule_id=schedule.id).values_list("id", "slot_starts_at", "status")
    outside = [
        int(bid)
        for bid, slot_start, status in booked
        if status in ACTIVE and not (starts_at <= slot_start < ends_at)
    ]
    if outside:
        raise BookingsOutsideNewTimes(sorted(outside))
    if booked:
        # Slots with bookings keep their times (a booking copies them); empty ones outside close.
        for slot in await Slot.filter(schedule_id=schedule.id):
            if not (starts_at <= slot.starts_at < ends_at):
                await Slot.filter(id=slot.id).update(
                    bookable=False, remaining=0, desk_remaining=0, followup_remaining=0, staff_remaining=0
                )
        return
    # Nobody booked: the slots are cut again for the new times.
    registration_type = await RegistrationType.get(id=schedule.registration_type_id)
    plans = plan_slots(starts_at, ends_at, schedule.slot_minutes, schedule.capacity)
    await Slot.filter(schedule_id=schedule.id).delete()
    first = 1
    for plan in plans:
        await Slot.create(
            schedule_id=schedule.id,
            starts_at=plan.starts_at,
            ends_at=plan.ends_at,
            capacity=plan.capacity,
            **seat_counters(plan.capacity, registration_type),
            first_number=first,
            block_size=plan.capacity,
        )
        first += plan.capacity


async def _change_capacity(schedule: Schedule, capacity: int) -> None:
    if capacity < 1 or capacity > 10_000:
        raise InvalidInput("capacity", "a session has 1 to 10000 seats")
    booked = await Booking.filter(schedule_id=schedule.id, status__in=list(ACTIVE)).count()
    if capacity < booked:
        raise CapacityBelowBooked(booked)
    slots = await Slot.filter(schedule_id=schedule.id).order_by("-starts_at")
    if capacity > schedule.capacity:
        added = capacity - schedule.capacity
        await Slot.filter(id=slots[0].id).update(
            capacity=F("capacity") + added, remaining=F("remaining") + added
        )
    else:
        # Free seats go from the last slots first, each by a conditional UPDATE (a booking racing us
        # for the same seat makes it fail, and the edit with it).
        cut = schedule.capacity - capacity
        for slot in slots:
            for column in ("remaining", "followup_remaining", "staff_remaining", "desk_remaining"):
                take = min(cut, getattr(slot, column))
                if take <= 0:
                    continue
                taken = await _give_up_seats(slot.id, column, take)
                if taken != 1:
                    raise CapacityBelowBooked(booked)
                cut -= take
        if cut > 0:
            raise CapacityBelowBooked(booked)
    await Schedule.filter(id=schedule.id).update(capacity=capacity)


async def _give_up_seats(slot_id: int, column: str, take: int) -> int:
    """`take` free seats of one counter leave the slot's capacity, by a conditional UPDATE."""
    capacity = F("capacity") - take
    seats = Slot.filter(id=slot_id)
    if column == "remaining":
        return await seats.filter(remaining__gte=take).update(remaining=F(column) - take, capacity=capacity)
    if column == "followup_remaining":
        return await seats.filter(followup_remaining__gte=take).update(
            followup_remaining=F(column) - take, capacity=capacity
        )
    if column == "staff_remaining":
        return await seats.filter(staff_remaining__gte=take).update(
            staff_remaining=F(column) - take, capacity=capacity
        )
    return await seats.filter(desk_remaining__gte=take).update(
        desk_remaining=F(column) - take, capacity=capacity
    )


async def _tell_substitute(schedule: Schedule, substitute: Doctor) -> None:
    department = await Department.get(id=schedule.department_id)
    for booking in await Booking.filter(schedule_id=schedule.id, status__in=list(ACTIVE)):
        patient = await Patient.get(id=booking.patient_id)
        await notify(
            booking.account_id,
            "schedule.substituted",
            {
                "patient_name": patient.name,
                "department": department.name,
                "visit_time": booking.slot_starts_at,
                "doctor": substitute.name,
            },
            dedupe_key=f"schedule.substituted:{booking.id}:{substitute.id}",
            booking_id=booking.id,
            phone=patient.phone,
        )


async def close_slot(slot_id: int, *, actor_id: int | None, reason: str) -> Slot:
    """No new bookings in this slot; those it holds stay. Call inside a transaction."""
    slot = await Slot.get_or_none(id=slot_id)
    if slot is None:
        raise NotFound("no such slot")
    await Slot.filter(id=slot_id).update(bookable=False)
    public_changes.note_session(slot.schedule_id, slot_id)
    await audit.record(actor_id, "slot.close", "slot", slot_id, reason=reason[:255])
    await slot.refresh_from_db()
    return slot


async def delete_schedule(schedule_id: int, *, actor_id: int | None) -> None:
    """Only a session nobody ever booked. Call inside a transaction."""
    schedule = await Schedule.get_or_none(id=schedule_id)
    if schedule is None:
        raise NotFound("no such session")
    if await Booking.filter(schedule_id=schedule_id).exists():
        raise SessionHasBookings()
    before = audit.snapshot(schedule, SCHEDULE_AUDIT_FIELDS)
    await Slot.filter(schedule_id=schedule_id).delete()
    await Schedule.filter(id=schedule_id).delete()
    public_changes.note(public_changes.LISTINGS)
    await audit.record(actor_id, "schedule.delete", "schedule", schedule_id, before=before)
