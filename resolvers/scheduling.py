"""Scheduling use cases: sessions (排班), weekly templates, 加号 and 停诊."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from strawberry.dataloader import DataLoader
from tortoise.transactions import in_transaction

from models import audit, scheduling
from models.booking import actions as booking_actions
from models.catalogue import Doctor
from models.errors import InvalidInput, NotFound
from models.scheduling import Period, ReleaseRule, Schedule, SessionSpec, Slot, WeeklyTemplate
from models.session_rules import PERIOD_HOURS
from models.text_rules import clean_text
from resolvers.context import Context

MAX_RANGE_DAYS = 62


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
        schedule = await scheduling.create_schedule(spec, release_rule(context))
        await audit.record(context.viewer.account_id, "schedule.create", "schedule", schedule.id)
    return schedule


async def schedule(context: Context, schedule_id: int) -> Schedule:
    row = await Schedule.get_or_none(id=schedule_id)
    if row is None:
        raise NotFound("no such session")
    return row


async def schedules(
    context: Context, department_id: int | None, doctor_id: int | None, date_from: date, date_to: date
) -> list[Schedule]:
    if date_to < date_from or (date_to - date_from) > timedelta(days=MAX_RANGE_DAYS):
        raise InvalidInput("dateTo", f"a range covers 0 to {MAX_RANGE_DAYS} days")
    query = Schedule.filter(date__gte=date_from, date__lte=date_to)
    if department_id is not None:
        query = query.filter(department_id=department_id)
    if doctor_id is not None:
        query = query.filter(doctor_id=doctor_id)
    return await query.order_by("starts_at", "id").limit(500)


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
    if not 0 <= data.weekday <= 6:
        raise InvalidInput("weekday", "0 is Monday, 6 is Sunday")
    if data.end <= data.start:
        raise InvalidInput("endTime", "a session ends after it starts")
    if not await Doctor.filter(id=data.doctor_id).exists():
        raise InvalidInput("doctorId", "no such doctor")
    return await WeeklyTemplate.create(
        doctor_id=data.doctor_id,
        registration_type_id=data.registration_type_id,
        room_id=data.room_id,
        weekday=data.weekday,
        start_minute=scheduling.time_to_minute(data.start),
        end_minute=scheduling.time_to_minute(data.end),
        slot_minutes=data.slot_minutes,
        capacity=data.capacity,
    )


async def generate_schedules(context: Context, weeks: int, template_ids: list[int] | None) -> list[Schedule]:
    if not 1 <= weeks <= 8:
        raise InvalidInput("weeks", "generate 1 to 8 weeks ahead")
    today = datetime.now(context.settings.tz).date()
    return await scheduling.generate_from_templates(today, weeks, release_rule(context), template_ids)


def _reason(reason: str) -> str:
    return clean_text(reason, field="reason", max_length=255, required=False)


async def add_capacity(
    context: Context, schedule_id: int, slot_id: int | None, added: int, reason: str
) -> Slot:
    async with in_transaction():
        return await scheduling.add_capacity(
            schedule_id, slot_id, added, actor_id=context.viewer.account_id, reason=_reason(reason)
        )


async def stop_schedule(context: Context, schedule_id: int, reason: str) -> Schedule:
    async with in_transaction():
        stopped, cancelled = await booking_actions.stop_schedule(
            schedule_id, actor_id=context.viewer.account_id, reason=_reason(reason)
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


class SlotsByScheduleLoader(DataLoader[int, list[Slot]]):
    """Every slot of each session in one query: browsing costs a constant number of queries."""

    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> Sequence[list[Slot]]:
        grouped: dict[int, list[Slot]] = defaultdict(list)
        for row in await Slot.filter(schedule_id__in=set(keys)).order_by("starts_at", "id"):
            grouped[row.schedule_id].append(row)
        return [grouped.get(key, []) for key in keys]


class ScheduleByIdLoader(DataLoader[int, Schedule | None]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> Sequence[Schedule | None]:
        found = {row.id: row for row in await Schedule.filter(id__in=set(keys))}
        return [found.get(key) for key in keys]
