"""Scheduling use cases: sessions (排班), weekly templates, 加号 and 停诊."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from tortoise.transactions import in_transaction

from gualema.settings import Settings
from models import audit, calendar, public_changes, schedule_edits, scheduling
from models import weekly_templates as template_rules
from models.booking import actions as booking_actions
from models.calendar import ClinicClosure
from models.catalogue import Doctor
from models.clock import utcnow
from models.errors import InvalidInput, NotAllowed, NotFound
from models.schedule_stop_requests import StopApproval
from models.scheduling import Period, ReleaseRule, Schedule, SessionSpec, Slot, WeeklyTemplate
from models.session_rules import PERIOD_HOURS
from models.text_rules import clean_text
from resolvers.context import Context

MAX_RANGE_DAYS = 62
SESSIONS_SHOWN = 500  # rows of one `schedules` / `mySessions` answer, by start time
CLOSURES_SHOWN = 500
SCHEDULE_HORIZON = timedelta(days=3660)  # ten years either way


def release_rule(context: Context) -> ReleaseRule:
    settings = context.settings
    return ReleaseRule(tz=settings.tz, days_ahead=settings.release_days_ahead, hour=settings.release_hour)


@dataclass(frozen=True)
class ScheduleInput:
    doctor_id: int
    registration_type_id: int
    room_id: int
    day: date
    start: time | None
    end: time | None
    period: Period | None
    slot_minutes: int
    capacity: int
    release_at: datetime | None


def _hours(start: time | None, end: time | None, period: Period | None) -> tuple[time, time]:
    if start is not None and end is not None:
        return start, end
    if period is not None and period in PERIOD_HOURS:
        default_start, default_end = PERIOD_HOURS[period]
        return start or default_start, end or default_end
    raise InvalidInput("startTime", "give startTime and endTime, or a period")


async def create_schedule(context: Context, data: ScheduleInput) -> Schedule:
    today = datetime.now(context.settings.tz).date()
    if abs(data.day - today) > SCHEDULE_HORIZON:
        # Also keeps release times and slot instants inside the datetime range (0001-01-01 overflowed).
        raise InvalidInput("date", f"a session is within {SCHEDULE_HORIZON.days} days of today")
    start, end = _hours(data.start, data.end, data.period)
    if data.release_at is not None and data.release_at.tzinfo is None:
        raise InvalidInput("releaseAt", "give the release time with its UTC offset")
    spec = SessionSpec(
        doctor_id=data.doctor_id,
        registration_type_id=data.registration_type_id,
        room_id=data.room_id,
        day=data.day,
        start=start,
        end=end,
        slot_minutes=data.slot_minutes,
        capacity=data.capacity,
        release_at=data.release_at,
    )
    async with in_transaction():
        # Before the insert: on MariaDB the insert's foreign-key check share-locks the doctor's row, and
        # two such holders upgrading to the exclusive lock would deadlock.
        await schedule_edits.hold_calendars(data.doctor_id, data.room_id)
        schedule = await scheduling.create_schedule(spec, release_rule(context))
        # Checked on the row as made (its times in UTC); a refusal rolls the session back.
        schedule_edits.check_not_past(schedule.starts_at, utcnow())
        await schedule_edits.check_overlap(
            doctor_id=data.doctor_id,
            room_id=data.room_id,
            starts_at=schedule.starts_at,
            ends_at=schedule.ends_at,
            ignore=schedule.id,
        )
        await audit.record(context.viewer.account_id, "schedule.create", "schedule", schedule.id)
    return schedule


async def find_schedule(context: Context, schedule_id: int) -> Schedule | None:
    context.shows(public_changes.session_tag(schedule_id))  # for the browse cache (decision 260)
    return await context.departments.filter(Schedule.filter(id=schedule_id)).first()


async def update_schedule(
    context: Context, schedule_id: int, edit: schedule_edits.ScheduleEdit, reason: str
) -> Schedule:
    async with in_transaction():
        return await schedule_edits.update_schedule(
            schedule_id,
            edit,
            reason=reason.strip(),
            actor_id=context.viewer.account_id,
            tz=context.settings.tz,
            now=utcnow(),
        )


async def close_slot(context: Context, slot_id: int, reason: str) -> Slot:
    async with in_transaction():
        return await schedule_edits.close_slot(
            slot_id, actor_id=context.viewer.account_id, reason=reason.strip()
        )


async def delete_schedule(context: Context, schedule_id: int) -> int:
    async with in_transaction():
        await schedule_edits.delete_schedule(schedule_id, actor_id=context.viewer.account_id)
    return schedule_id


async def weekly_templates(doctor_id: int | None) -> list[WeeklyTemplate]:
    query = WeeklyTemplate.filter(active=True)
    if doctor_id is not None:
        query = query.filter(doctor_id=doctor_id)
    return await query.order_by("weekday", "start_minute", "id")


async def delete_weekly_template(context: Context, template_id: int) -> WeeklyTemplate:
    """Sessions it generated stay; it generates no more."""
    async with in_transaction():
        template = await WeeklyTemplate.get_or_none(id=template_id, active=True)
        if template is None:
            raise NotFound("no such template")
        template.active = False
        await template.save(update_fields=["active"])
        await audit.record(context.viewer.account_id, "template.delete", "weekly_template", template_id)
    return template


async def schedules(
    context: Context, department_id: int | None, doctor_id: int | None, date_from: date, date_to: date
) -> list[Schedule]:
    if date_to < date_from or (date_to - date_from) > timedelta(days=MAX_RANGE_DAYS):
        raise InvalidInput("dateTo", f"a range covers 0 to {MAX_RANGE_DAYS} days")
    query = context.departments.filter(Schedule.filter(date__gte=date_from, date__lte=date_to))
    if department_id is not None:
        query = query.filter(department_id=department_id)
    if doctor_id is not None:
        query = query.filter(doctor_id=doctor_id)
    rows = await query.order_by("starts_at", "id").limit(SESSIONS_SHOWN)
    context.shows(*(public_changes.session_tag(row.id) for row in rows))  # decision 260
    return rows


@dataclass(frozen=True)
class TemplateInput:
    doctor_id: int
    registration_type_id: int
    room_id: int
    weekday: int
    start: time
    end: time
    slot_minutes: int
    capacity: int


async def create_weekly_template(context: Context, data: TemplateInput) -> WeeklyTemplate:
    shape = template_rules.TemplateShape(
        doctor_id=data.doctor_id,
        registration_type_id=data.registration_type_id,
        room_id=data.room_id,
        weekday=data.weekday,
        start_minute=scheduling.time_to_minute(data.start),
        end_minute=scheduling.time_to_minute(data.end),
        slot_minutes=data.slot_minutes,
        capacity=data.capacity,
    )
    async with in_transaction():
        await schedule_edits.hold_calendars(shape.doctor_id, shape.room_id)
        await template_rules.check_template(shape)
        template = await WeeklyTemplate.create(**vars(shape))
        await audit.record(
            context.viewer.account_id,
            "template.create",
            "weekly_template",
            template.id,
            after=audit.snapshot(template, template_rules.TEMPLATE_AUDIT_FIELDS),
        )
    return template


async def update_weekly_template(
    context: Context, template_id: int, edit: template_rules.TemplateEdit, reason: str
) -> WeeklyTemplate:
    """Sessions the template already generated are not touched; only later generation follows it."""
    async with in_transaction():
        return await template_rules.update_template(
            template_id, edit, actor_id=context.viewer.account_id, reason=_reason(reason)
        )


async def generate_schedules(context: Context, weeks: int, template_ids: list[int] | None) -> list[Schedule]:
    if not 1 <= weeks <= 8:
        raise InvalidInput("weeks", "generate 1 to 8 weeks ahead")
    today = datetime.now(context.settings.tz).date()
    created = await scheduling.generate_from_templates(today, weeks, release_rule(context), template_ids)
    await audit.record(
        context.viewer.account_id,
        "schedule.generate",
        "weekly_template",
        ",".join(map(str, template_ids or [])) or "all",
        after={"weeks": weeks, "created": [row.id for row in created]},
    )
    return created


async def own_doctor_ids(context: Context) -> list[int]:
    rows = await Doctor.filter(account_id=context.viewer.account_id).values_list("id", flat=True)
    return [int(r) for r in rows]  # type: ignore[call-overload]


async def my_sessions(context: Context, date_from: date, date_to: date) -> list[Schedule]:
    """A doctor's sessions across all their profiles: today (from = to) or their history."""
    if date_to < date_from or (date_to - date_from) > timedelta(days=MAX_RANGE_DAYS * 6):
        raise InvalidInput("dateTo", "a range covers 0 to a year")
    own = await own_doctor_ids(context)
    query = Schedule.filter(doctor_id__in=own, date__gte=date_from, date__lte=date_to)
    return await query.order_by("starts_at", "id").limit(SESSIONS_SHOWN)


async def stop_my_session(context: Context, schedule_id: int, reason: str) -> Schedule:
    """A doctor stops their own session when the hospital allows it; otherwise an administrator must."""
    if not context.settings.doctor_may_stop_own_session:
        raise NotAllowed("ask an administrator to stop this session (停诊): requestScheduleStop")
    if not await Schedule.filter(id=schedule_id, doctor_id__in=await own_doctor_ids(context)).exists():
        raise NotFound("no such session")
    return await stop_schedule(context, schedule_id, reason)


async def keep_sessions_generated(settings: Settings) -> int:
    """The background job: sessions from the templates `generate_weeks_ahead` weeks ahead. Exactly once
    across processes: a session's template key is unique, and a process that loses the race skips it."""
    if settings.generate_weeks_ahead == 0:
        return 0
    rule = ReleaseRule(tz=settings.tz, days_ahead=settings.release_days_ahead, hour=settings.release_hour)
    today = datetime.now(settings.tz).date()
    return len(await scheduling.generate_from_templates(today, settings.generate_weeks_ahead, rule))


async def create_clinic_closure(
    context: Context, day: date, reason: str, department_id: int | None, working_weekday: int | None
) -> ClinicClosure:
    async with in_transaction():
        closure = await calendar.add_closure(
            day,
            reason,
            department_id=department_id,
            working_weekday=working_weekday,
            actor_id=context.viewer.account_id,
        )
        await audit.record(
            context.viewer.account_id,
            "calendar.closure",
            "clinic_closure",
            closure.id,
            after={
                "date": day.isoformat(),
                "department_id": department_id,
                "working_weekday": working_weekday,
            },
            reason=reason.strip()[:255],
        )
    return closure


async def clinic_closures(context: Context, first: date, last: date) -> list[ClinicClosure]:
    if last < first or (last - first) > timedelta(days=400):
        raise InvalidInput("to", "a range covers 0 to 400 days")
    query = ClinicClosure.filter(date__gte=first, date__lte=last)
    return (
        await context.departments.filter_or_hospital_wide(query).order_by("date", "id").limit(CLOSURES_SHOWN)
    )


def _reason(reason: str) -> str:
    return clean_text(reason, field="reason", max_length=255, required=False)


async def add_capacity(
    context: Context, schedule_id: int, slot_id: int | None, added: int, reason: str
) -> Slot:
    async with in_transaction():
        slot = await scheduling.add_capacity(
            schedule_id, slot_id, added, actor_id=context.viewer.account_id, reason=_reason(reason)
        )
        await audit.record(
            context.viewer.account_id,
            "schedule.add_capacity",
            "schedule",
            schedule_id,
            after={"slot_id": slot.id, "added": added},
            reason=reason.strip()[:255],
        )
    return slot


async def stop_schedule(context: Context, schedule_id: int, reason: str) -> Schedule:
    async with in_transaction():
        return await stop_in_transaction(context, schedule_id, reason)


async def stop_in_transaction(
    context: Context, schedule_id: int, reason: str, approving: StopApproval | None = None
) -> Schedule:
    """停诊, the one path: the session stops through models/reactions (cancellations, refunds, notices,
    the approved request settled and other pending ones overtaken) and the stop is audited."""
    stopped, cancelled = await booking_actions.stop_schedule(
        schedule_id, actor_id=context.viewer.account_id, reason=_reason(reason), approving=approving
    )
    await audit.record(
        context.viewer.account_id,
        "schedule.stop",
        "schedule",
        schedule_id,
        after={"cancelled_bookings": cancelled},
        reason=reason,
    )
    return stopped
