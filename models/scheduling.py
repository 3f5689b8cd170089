from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models import jobs, public_changes
from models.calendar import calendar_between
from models.catalogue import Doctor, RegistrationType, Room, seat_split
from models.errors import InvalidInput, InvalidTransition, NotFound
from models.session_rules import Period, default_release_at, local_datetime, period_of, plan_slots

if TYPE_CHECKING:
    from models.catalogue import Department


class ScheduleStatus(StrEnum):
    OPEN = "open"
    STOPPED = "stopped"  # 停诊


# The one transition table of the session aggregate; `write_status` is its only status writer.
TRANSITIONS: dict[ScheduleStatus, frozenset[ScheduleStatus]] = {
    ScheduleStatus.OPEN: frozenset({ScheduleStatus.STOPPED}),
    ScheduleStatus.STOPPED: frozenset(),
}


@dataclass(frozen=True)
class ScheduleChanged:
    """A session's status change, for models/reactions.py."""

    schedule_id: int
    from_status: ScheduleStatus
    to_status: ScheduleStatus
    actor_id: int | None
    reason: str


class Schedule(Model):
    # One clinic session (排班) of a doctor: a date, a period, a room, a registration type.
    id = fields.IntField(primary_key=True)
    doctor_id: int
    department_id: int
    registration_type_id: int
    room_id: int
    doctor: fields.ForeignKeyRelation[Doctor] = fields.ForeignKeyField(
        "models.Doctor", related_name="schedules", on_delete=fields.RESTRICT
    )
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="schedules", on_delete=fields.RESTRICT
    )
    registration_type: fields.ForeignKeyRelation[RegistrationType] = fields.ForeignKeyField(
        "models.RegistrationType", related_name="schedules", on_delete=fields.RESTRICT
    )
    room: fields.ForeignKeyRelation[Room] = fields.ForeignKeyField(
        "models.Room", related_name="schedules", on_delete=fields.RESTRICT
    )
    date = fields.DateField(db_index=True)
    period = fields.CharEnumField(Period, max_length=16)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    slot_minutes = fields.IntField()
    capacity = fields.IntField()
    fee = fields.IntField()  # fen, copied from the registration type when the session is created
    release_at = fields.DatetimeField(db_index=True)
    status = fields.CharEnumField(ScheduleStatus, max_length=16, default=ScheduleStatus.OPEN)
    stop_reason = fields.CharField(max_length=255, default="")
    # The next queue number past every slot's block: numbers for seats given back and booked again,
    # for 加号 seats and for the waitlist (docs/decisions/032-queue-numbers.md).
    next_number = fields.IntField(default=1)
    template_key = fields.CharField(max_length=64, null=True, unique=True)  # idempotent generation
    no_shows_swept = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "schedule"


class Slot(Model):
    # A time slot (分时段) of a session with its own capacity and live remaining count.
    id = fields.IntField(primary_key=True)
    schedule_id: int
    schedule: fields.ForeignKeyRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name="slots", on_delete=fields.CASCADE
    )
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    capacity = fields.IntField()
    # Seats left. Only conditional updates touch it: `remaining > 0` to take one, +1 to give one back,
    # so it never goes below zero and remaining + active bookings == capacity.
    remaining = fields.IntField()
    # 现场号: seats only the registration desk may take (decision 190). Online booking never reads or
    # writes it, so its one statement is unchanged; the desk takes these first, then `remaining`.
    # remaining + desk_remaining + active bookings == capacity.
    desk_remaining = fields.IntField(default=0)
    # Reserved shares (decision 241): 复诊 seats and staff/student seats, taken (before `remaining`) by
    # an eligible booker, and by anyone once the registration type's release time before the session
    # has come. remaining + desk_remaining + followup_remaining + staff_remaining + active == capacity.
    followup_remaining = fields.IntField(default=0)
    staff_remaining = fields.IntField(default=0)
    # Queue numbers by time slot (分时段): this slot first issues first_number .. first_number +
    # block_size - 1, counted by `issued` in the same UPDATE that takes the seat; later seats take
    # the session's next_number. A block of 0 means every number comes from the session counter.
    first_number = fields.IntField(default=0)
    block_size = fields.IntField(default=0)
    issued = fields.IntField(default=0)
    # False once the session is stopped: the booking UPDATE requires it, so a stop and a booking
    # serialise on the slot row and no booking slips in after the stop collected its bookings.
    bookable = fields.BooleanField(default=True)

    class Meta:
        table = "slot"


class CapacityChange(Model):
    # 加号: extra capacity, with who and why.
    id = fields.IntField(primary_key=True)
    schedule_id: int
    schedule: fields.ForeignKeyRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name="capacity_changes", on_delete=fields.CASCADE
    )
    slot_id = fields.IntField(null=True)
    added = fields.IntField()
    actor_id = fields.IntField(null=True)
    reason = fields.CharField(max_length=255)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "capacity_change"


class WeeklyTemplate(Model):
    # A weekly rule that generates sessions N weeks ahead.
    id = fields.IntField(primary_key=True)
    doctor_id: int
    registration_type_id: int
    room_id: int
    doctor: fields.ForeignKeyRelation[Doctor] = fields.ForeignKeyField(
        "models.Doctor", related_name="templates", on_delete=fields.CASCADE
    )
    registration_type: fields.ForeignKeyRelation[RegistrationType] = fields.ForeignKeyField(
        "models.RegistrationType", related_name="templates", on_delete=fields.RESTRICT
    )
    room: fields.ForeignKeyRelation[Room] = fields.ForeignKeyField(
        "models.Room", related_name="templates", on_delete=fields.RESTRICT
    )
    weekday = fields.IntField()  # 0 = Monday
    # Minutes after local midnight: TimeField does not bind on SQLite.
    start_minute = fields.IntField()
    end_minute = fields.IntField()
    slot_minutes = fields.IntField()
    capacity = fields.IntField()
    active = fields.BooleanField(default=True)

    class Meta:
        table = "weekly_template"


@dataclass(frozen=True)
class SessionSpec:
    doctor_id: int
    registration_type_id: int
    room_id: int
    day: date
    start: time
    end: time
    slot_minutes: int
    capacity: int
    release_at: datetime | None = None
    template_key: str | None = None


@dataclass(frozen=True)
class ReleaseRule:
    tz: ZoneInfo
    days_ahead: int
    hour: int


async def create_schedule(spec: SessionSpec, rule: ReleaseRule) -> Schedule:
    """Create a session and its slots. Call inside a transaction."""
    doctor = await Doctor.get_or_none(id=spec.doctor_id, archived=False)
    if doctor is None:
        raise InvalidInput("doctorId", "no such doctor")
    registration_type = await RegistrationType.get_or_none(id=spec.registration_type_id, archived=False)
    if registration_type is None:
        raise InvalidInput("registrationTypeId", "no such registration type")
    if not await Room.filter(id=spec.room_id, archived=False).exists():
        raise InvalidInput("roomId", "no such room")
    starts_at = local_datetime(spec.day, spec.start, rule.tz)
    ends_at = local_datetime(spec.day, spec.end, rule.tz)
    plans = plan_slots(starts_at, ends_at, spec.slot_minutes, spec.capacity)
    release_at = spec.release_at or default_release_at(
        spec.day, days_ahead=rule.days_ahead, hour=rule.hour, tz=rule.tz
    )
    if release_at >= starts_at:
        raise InvalidInput("releaseAt", "numbers are released before the session starts")
    schedule = await Schedule.create(
        doctor_id=doctor.id,
        department_id=doctor.department_id,
        registration_type_id=registration_type.id,
        room_id=spec.room_id,
        date=spec.day,
        period=period_of(spec.start),
        starts_at=starts_at,
        ends_at=ends_at,
        slot_minutes=spec.slot_minutes,
        capacity=spec.capacity,
        fee=registration_type.fee,
        release_at=release_at,
        template_key=spec.template_key,
        next_number=spec.capacity + 1,
    )
    public_changes.note(public_changes.LISTINGS)
    firsts = [1]
    for plan in plans[:-1]:
        firsts.append(firsts[-1] + plan.capacity)
    await Slot.bulk_create(
        [
            Slot(
                schedule_id=schedule.id,
                starts_at=plan.starts_at,
                ends_at=plan.ends_at,
                capacity=plan.capacity,
                **seat_counters(plan.capacity, registration_type),
                first_number=first,
                block_size=plan.capacity,
            )
            for plan, first in zip(plans, firsts, strict=True)
        ]
    )
    return schedule


def seat_counters(capacity: int, registration_type: RegistrationType) -> dict[str, Any]:
    """A new slot's seat counters: the general pool and each reserved share (decisions 190, 241)."""
    split = seat_split(capacity, registration_type)
    return {
        "remaining": split.remaining,
        "desk_remaining": split.desk,
        "followup_remaining": split.followup,
        "staff_remaining": split.staff,
    }


def minute_to_time(minute: int) -> time:
    return time(minute // 60, minute % 60)


def time_to_minute(at: time) -> int:
    return at.hour * 60 + at.minute


def template_key(template_id: int, day: date) -> str:
    return f"template:{template_id}:{day.isoformat()}"


async def generate_from_templates(
    today: date, weeks: int, rule: ReleaseRule, template_ids: list[int] | None = None
) -> list[Schedule]:
    """Sessions for the next `weeks` weeks from the active weekly templates. Idempotent: a session
    already generated for a template and day (its unique template_key) is skipped, even when two
    admins or processes generate at once (the loser's INSERT hits the unique key)."""
    query = WeeklyTemplate.filter(active=True)
    if template_ids:
        query = query.filter(id__in=template_ids)
    templates = await query.order_by("id")
    days = [today + timedelta(days=offset) for offset in range(1, weeks * 7 + 1)]
    # Closed days are skipped; a worked weekend (调休) takes the templates of the weekday it stands for.
    days_off = await calendar_between(days[0], days[-1])
    department_of = dict(
        await Doctor.filter(id__in=[t.doctor_id for t in templates]).values_list("id", "department_id")
    )
    wanted = {
        template_key(t.id, day): (t, day)
        for t in templates
        for day in days
        if not days_off.is_closed(day, department_of[t.doctor_id])
        and days_off.weekday_of(day, department_of[t.doctor_id]) == t.weekday
    }
    existing = set(
        await Schedule.filter(template_key__in=list(wanted)).values_list("template_key", flat=True)
    )
    created: list[Schedule] = []
    for key, (template, day) in wanted.items():
        if key in existing:
            continue
        spec = SessionSpec(
            doctor_id=template.doctor_id,
            registration_type_id=template.registration_type_id,
            room_id=template.room_id,
            day=day,
            start=minute_to_time(template.start_minute),
            end=minute_to_time(template.end_minute),
            slot_minutes=template.slot_minutes,
            capacity=template.capacity,
            template_key=key,
        )
        try:
            async with in_transaction():
                created.append(await create_schedule(spec, rule))
        except IntegrityError:
            continue  # generated concurrently by someone else
    return created


async def add_capacity(
    schedule_id: int, slot_id: int | None, added: int, *, actor_id: int | None, reason: str
) -> Slot:
    """加号: extra seats on one slot (the last one when not named). Call inside a transaction."""
    if added < 1 or added > 1000:
        raise InvalidInput("added", "add 1 to 1000 seats")
    if not reason.strip():
        raise InvalidInput("reason", "say why seats are added")
    schedule = await Schedule.get_or_none(id=schedule_id)
    if schedule is None:
        raise NotFound("no such session")
    if schedule.status is ScheduleStatus.STOPPED:
        raise InvalidInput("scheduleId", "this session is stopped")
    slots = Slot.filter(schedule_id=schedule_id)
    slot = await (slots.filter(id=slot_id).first() if slot_id else slots.order_by("-starts_at").first())
    if slot is None:
        raise NotFound("no such slot in this session")
    await Slot.filter(id=slot.id).update(capacity=F("capacity") + added, remaining=F("remaining") + added)
    await Schedule.filter(id=schedule_id).update(capacity=F("capacity") + added)
    public_changes.note_session(schedule_id, slot.id)
    await CapacityChange.create(
        schedule_id=schedule_id, slot_id=slot.id, added=added, actor_id=actor_id, reason=reason[:255]
    )
    # New seats are freed seats: the waitlist gets the first offer.
    for _ in range(added):  # one offer per seat, as for a cancellation (the seats are in the pool)
        await jobs.enqueue(
            jobs.SEAT_FREED, {"slot_id": slot.id, "schedule_id": schedule_id, "reserved": False}
        )
    await slot.refresh_from_db()
    return slot


async def write_status(
    schedule: Schedule, target: ScheduleStatus, *, actor_id: int | None, reason: str
) -> ScheduleChanged:
    """The only way a session changes status; exactly once (conditional on the status read). Call
    inside a transaction. Stopping closes the slots first: a booking in flight either committed
    before this (and is cancelled by the reaction) or waits for it and then finds the slot closed."""
    current = schedule.status
    if target not in TRANSITIONS[current]:
        raise InvalidTransition("schedule", current.value, target.value)
    if target is ScheduleStatus.STOPPED:
        await Slot.filter(schedule_id=schedule.id).update(bookable=False)
    changed = await Schedule.filter(id=schedule.id, status=current).update(
        stop_reason=reason[:255], status=target
    )
    if changed != 1:
        fresh = await Schedule.get(id=schedule.id)
        raise InvalidTransition("schedule", fresh.status.value, target.value)
    schedule.status = target
    schedule.stop_reason = reason[:255]
    return ScheduleChanged(schedule.id, current, target, actor_id, reason)
