"""Sessions (排班) and their time slots: browsing, creation, templates, 加号 and 停诊."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

import strawberry
from strawberry.types.info import Info

from gualema.settings import get_settings
from models import scheduling as scheduling_models
from models.scheduling import Period, ScheduleStatus
from resolvers import scheduling as use_cases
from resolvers.scheduling import ScheduleInput, SlotsByScheduleLoader, TemplateInput
from schema.errors import InvalidInputError, InvalidStatusTransition, NotFoundError
from schema.permissions import IsAdmin

# The domain enums are the GraphQL enums (strawberry.enum registers the class itself).
strawberry.enum(Period, name="Period")
strawberry.enum(ScheduleStatus, name="ScheduleStatus")


def local(moment: datetime) -> datetime:
    """Stored in UTC, shown in the hospital's zone."""
    return moment.astimezone(get_settings().tz)


@strawberry.type(description="A time slot (分时段) of a session with its live count of seats left.")
class Slot:
    id: strawberry.ID
    start: datetime
    end: datetime
    capacity: int
    remaining: int
    bookable: bool

    @classmethod
    def from_model(cls, row: scheduling_models.Slot) -> Slot:
        return cls(
            id=strawberry.ID(str(row.id)),
            start=local(row.starts_at),
            end=local(row.ends_at),
            capacity=row.capacity,
            remaining=row.remaining,
            bookable=row.bookable,
        )


@strawberry.type(description="A doctor's clinic session (排班).")
class Schedule:
    id: strawberry.ID
    doctor_id: strawberry.ID
    department_id: strawberry.ID
    registration_type_id: strawberry.ID
    room_id: strawberry.ID
    date: date
    period: Period
    starts_at: datetime
    ends_at: datetime
    slot_minutes: int
    capacity: int
    fee: int = strawberry.field(description="Fen.")
    release_at: datetime
    status: ScheduleStatus
    stop_reason: str

    @strawberry.field
    async def slots(self, info: Info) -> list[Slot]:
        rows = await info.context.loader(SlotsByScheduleLoader).load(int(self.id))
        return [Slot.from_model(row) for row in rows]

    @strawberry.field(description="Seats left over all slots.")
    async def remaining(self, info: Info) -> int:
        rows = await info.context.loader(SlotsByScheduleLoader).load(int(self.id))
        return sum(row.remaining for row in rows)

    @classmethod
    def from_model(cls, row: scheduling_models.Schedule) -> Schedule:
        return cls(
            id=strawberry.ID(str(row.id)),
            doctor_id=strawberry.ID(str(row.doctor_id)),
            department_id=strawberry.ID(str(row.department_id)),
            registration_type_id=strawberry.ID(str(row.registration_type_id)),
            room_id=strawberry.ID(str(row.room_id)),
            date=row.date,
            period=row.period,
            starts_at=local(row.starts_at),
            ends_at=local(row.ends_at),
            slot_minutes=row.slot_minutes,
            capacity=row.capacity,
            fee=row.fee,
            release_at=local(row.release_at),
            status=row.status,
            stop_reason=row.stop_reason,
        )


@strawberry.type
class WeeklyTemplate:
    id: strawberry.ID
    doctor_id: strawberry.ID
    weekday: int = strawberry.field(description="0 is Monday.")
    start_time: time
    end_time: time
    slot_minutes: int
    capacity: int

    @classmethod
    def from_model(cls, row: scheduling_models.WeeklyTemplate) -> WeeklyTemplate:
        return cls(
            id=strawberry.ID(str(row.id)),
            doctor_id=strawberry.ID(str(row.doctor_id)),
            weekday=row.weekday,
            start_time=scheduling_models.minute_to_time(row.start_minute),
            end_time=scheduling_models.minute_to_time(row.end_minute),
            slot_minutes=row.slot_minutes,
            capacity=row.capacity,
        )


@strawberry.type
class GeneratedSchedules:
    created: list[Schedule]


@strawberry.input
class CreateScheduleInput:
    doctor_id: strawberry.ID
    registration_type_id: strawberry.ID
    room_id: strawberry.ID
    date: date
    start_time: time | None = None
    end_time: time | None = None
    period: Period | None = strawberry.field(
        default=None, description="Default hours when times are omitted."
    )
    slot_minutes: int = 30
    capacity: int = 20
    release_at: datetime | None = strawberry.field(
        default=None, description="Default: release_days_ahead days before, at release_hour local time."
    )


@strawberry.input
class CreateWeeklyTemplateInput:
    doctor_id: strawberry.ID
    registration_type_id: strawberry.ID
    room_id: strawberry.ID
    weekday: int
    start_time: time
    end_time: time
    slot_minutes: int = 30
    capacity: int = 20


@strawberry.input
class GenerateSchedulesInput:
    weeks: int = 1
    template_ids: list[strawberry.ID] | None = None


@strawberry.input
class AddCapacityInput:
    schedule_id: strawberry.ID
    slot_id: strawberry.ID | None = strawberry.field(default=None, description="Default: the last slot.")
    added: int
    reason: str


@strawberry.input
class StopScheduleInput:
    schedule_id: strawberry.ID
    reason: str


CreateScheduleResult = Annotated[Schedule | InvalidInputError, strawberry.union("CreateScheduleResult")]
CreateWeeklyTemplateResult = Annotated[
    WeeklyTemplate | InvalidInputError, strawberry.union("CreateWeeklyTemplateResult")
]
GenerateSchedulesResult = Annotated[
    GeneratedSchedules | InvalidInputError, strawberry.union("GenerateSchedulesResult")
]
AddCapacityResult = Annotated[Slot | NotFoundError | InvalidInputError, strawberry.union("AddCapacityResult")]
StopScheduleResult = Annotated[
    Schedule | NotFoundError | InvalidInputError | InvalidStatusTransition,
    strawberry.union("StopScheduleResult"),
]


def _id(value: strawberry.ID | None) -> int | None:
    return int(value) if value is not None else None


@strawberry.type
class Query:
    @strawberry.field(description="A session with its slots; public, like the hospital's notice board.")
    async def schedule(self, info: Info, id: strawberry.ID) -> Schedule | None:
        row = await scheduling_models.Schedule.get_or_none(id=int(id))
        return Schedule.from_model(row) if row else None

    @strawberry.field(description="Sessions of a department (or a doctor) in a date range, with live counts.")
    async def schedules(
        self,
        info: Info,
        date_from: date,
        date_to: date,
        department_id: strawberry.ID | None = None,
        doctor_id: strawberry.ID | None = None,
    ) -> list[Schedule]:
        rows = await use_cases.schedules(info.context, _id(department_id), _id(doctor_id), date_from, date_to)
        return [Schedule.from_model(row) for row in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_schedule(self, info: Info, input: CreateScheduleInput) -> CreateScheduleResult:
        data = ScheduleInput(
            doctor_id=int(input.doctor_id),
            registration_type_id=int(input.registration_type_id),
            room_id=int(input.room_id),
            day=input.date,
            start=input.start_time,
            end=input.end_time,
            period=input.period,
            slot_minutes=input.slot_minutes,
            capacity=input.capacity,
            release_at=input.release_at,
        )
        return Schedule.from_model(await use_cases.create_schedule(info.context, data))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_weekly_template(
        self, info: Info, input: CreateWeeklyTemplateInput
    ) -> CreateWeeklyTemplateResult:
        data = TemplateInput(
            doctor_id=int(input.doctor_id),
            registration_type_id=int(input.registration_type_id),
            room_id=int(input.room_id),
            weekday=input.weekday,
            start=input.start_time,
            end=input.end_time,
            slot_minutes=input.slot_minutes,
            capacity=input.capacity,
        )
        return WeeklyTemplate.from_model(await use_cases.create_weekly_template(info.context, data))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Idempotent: existing sessions are kept.")
    async def generate_schedules(self, info: Info, input: GenerateSchedulesInput) -> GenerateSchedulesResult:
        ids = [int(i) for i in input.template_ids] if input.template_ids else None
        rows = await use_cases.generate_schedules(info.context, input.weeks, ids)
        return GeneratedSchedules(created=[Schedule.from_model(row) for row in rows])

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="加号: extra seats, recorded with who and why."
    )
    async def add_capacity(self, info: Info, input: AddCapacityInput) -> AddCapacityResult:
        slot = await use_cases.add_capacity(
            info.context, int(input.schedule_id), _id(input.slot_id), input.added, input.reason
        )
        return Slot.from_model(slot)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="停诊: every booking is cancelled with the reason, refunded if paid, patients notified.",
    )
    async def stop_schedule(self, info: Info, input: StopScheduleInput) -> StopScheduleResult:
        return Schedule.from_model(
            await use_cases.stop_schedule(info.context, int(input.schedule_id), input.reason)
        )
