"""Sessions (排班) and their time slots: browsing, creation, templates, 加号 and 停诊."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

import strawberry
from strawberry.types.info import Info

from models import schedule_edits, weekly_templates
from models import scheduling as scheduling_models
from models.calendar import ClinicClosure as ClinicClosureRow
from models.scheduling import Period, ScheduleStatus
from resolvers import scheduling as use_cases
from resolvers.loaders import SlotsByScheduleLoader
from resolvers.scheduling import ScheduleInput, TemplateInput
from schema.errors import (
    Error,
    InvalidInputError,
    InvalidStatusTransition,
    NotAllowedError,
    NotFoundError,
    maps,
)
from schema.ids import parse_id, parse_ids, parse_optional_id
from schema.list_bounds import at_most, per_day, planned
from schema.permissions import IsAdmin, IsDoctor

# The domain enums are the GraphQL enums (strawberry.enum registers the class itself).
strawberry.enum(Period, name="Period")
strawberry.enum(ScheduleStatus, name="ScheduleStatus")


# The hospital's own timetable, not the caller's (decision 211): what a day of ours is planned for.
# The caller's lever, the length of a date range, is counted exactly.
PLANNED_SESSIONS_PER_DAY = 12  # sessions of one `schedules` answer per day (a department's day)
PLANNED_SESSIONS_PER_DOCTOR_DAY = 3  # morning, afternoon, evening
PLANNED_SLOTS_PER_SESSION = 16  # a half day of 15-minute slots (a session may hold up to 288)
PLANNED_CLOSURES_PER_DAY = 2
MOST_SEATS_PER_SESSION = 10_000  # models/session_rules.py refuses more
PLANNED_WEEKLY_TEMPLATES = 300
PLANNED_GENERATED_SESSIONS = 500


@strawberry.type(description="A time slot (分时段) of a session with its live count of seats left.")
class Slot:
    id: strawberry.ID
    start: datetime
    end: datetime
    capacity: int
    remaining: int = strawberry.field(description="Seats left online; 0 once the slot is closed or stopped.")
    desk_remaining: int = strawberry.field(description="现场号: seats left that only the desk may give.")
    followup_remaining: int = strawberry.field(
        description="复诊号: seats kept for returning patients of the department until the registration "
        "type's reservedReleaseMinutes before the session, then open to everyone."
    )
    staff_remaining: int = strawberry.field(
        description="Seats kept for staff and students, released like followupRemaining."
    )
    bookable: bool

    @classmethod
    def from_model(cls, row: scheduling_models.Slot) -> Slot:
        return cls(
            id=strawberry.ID(str(row.id)),
            start=row.starts_at,
            end=row.ends_at,
            capacity=row.capacity,
            remaining=seats_left(row),
            desk_remaining=row.desk_remaining if row.bookable else 0,
            followup_remaining=row.followup_remaining if row.bookable else 0,
            staff_remaining=row.staff_remaining if row.bookable else 0,
            bookable=row.bookable,
        )


def seats_left(row: scheduling_models.Slot) -> int:
    # A stopped session's or a closed slot's seats can be taken by nobody.
    return row.remaining if row.bookable else 0


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

    @strawberry.field(metadata=planned(PLANNED_SLOTS_PER_SESSION))
    async def slots(self, info: Info) -> list[Slot]:
        rows = await info.context.loader(SlotsByScheduleLoader).load(int(self.id))
        return [Slot.from_model(row) for row in rows]

    @strawberry.field(description="Seats left online over all slots; 0 once the session is stopped.")
    async def remaining(self, info: Info) -> int:
        rows = await info.context.loader(SlotsByScheduleLoader).load(int(self.id))
        return sum(seats_left(row) for row in rows)

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
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            slot_minutes=row.slot_minutes,
            capacity=row.capacity,
            fee=row.fee,
            release_at=row.release_at,
            status=row.status,
            stop_reason=row.stop_reason,
        )


@strawberry.type(
    description="A weekly rule that generates sessions; editing it changes only sessions generated later."
)
class WeeklyTemplate:
    id: strawberry.ID
    doctor_id: strawberry.ID
    registration_type_id: strawberry.ID
    room_id: strawberry.ID
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
            registration_type_id=strawberry.ID(str(row.registration_type_id)),
            room_id=strawberry.ID(str(row.room_id)),
            weekday=row.weekday,
            start_time=scheduling_models.minute_to_time(row.start_minute),
            end_time=scheduling_models.minute_to_time(row.end_minute),
            slot_minutes=row.slot_minutes,
            capacity=row.capacity,
        )


@strawberry.type(description="A day of the clinic calendar: closed, or worked as another weekday (调休).")
class ClinicClosure:
    id: strawberry.ID
    date: date
    department_id: strawberry.ID | None = strawberry.field(description="None: the whole hospital.")
    reason: str
    working_weekday: int | None = strawberry.field(
        description="Set for an extra working day: whose weekday's templates it runs (0 is Monday)."
    )

    @classmethod
    def from_model(cls, row: ClinicClosureRow) -> ClinicClosure:
        return cls(
            id=strawberry.ID(str(row.id)),
            date=row.date,
            department_id=strawberry.ID(str(row.department_id)) if row.department_id is not None else None,
            reason=row.reason,
            working_weekday=row.working_weekday,
        )


@strawberry.input
class CreateClinicClosureInput:
    date: date
    reason: str
    department_id: strawberry.ID | None = None
    working_weekday: int | None = strawberry.field(
        default=None, description="Give it for a worked weekend (调休) instead of a closure."
    )


CreateClinicClosureResult = Annotated[
    ClinicClosure | InvalidInputError, strawberry.union("CreateClinicClosureResult")
]


@strawberry.type
class DeletedSchedule:
    id: strawberry.ID


@strawberry.type
class GeneratedSchedules:
    created: list[Schedule] = strawberry.field(metadata=planned(PLANNED_GENERATED_SESSIONS))


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


@strawberry.input(description="The fields to change (omitted ones stay) and why.")
class UpdateWeeklyTemplateInput:
    template_id: strawberry.ID
    doctor_id: strawberry.ID | None = None
    registration_type_id: strawberry.ID | None = None
    room_id: strawberry.ID | None = None
    weekday: int | None = None
    start_time: time | None = None
    end_time: time | None = None
    slot_minutes: int | None = None
    capacity: int | None = None
    reason: str


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


@maps(schedule_edits.SessionOverlaps)
@strawberry.type(name="SessionOverlaps")
class SessionOverlapsError(Error):
    what: str = strawberry.field(description="doctor or room")
    schedule_id: strawberry.ID


@maps(schedule_edits.SessionInThePast)
@strawberry.type(name="SessionInThePast")
class SessionInThePastError(Error):
    pass


@maps(schedule_edits.BookingsOutsideNewTimes)
@strawberry.type(name="BookingsOutsideNewTimes")
class BookingsOutsideNewTimesError(Error):
    # Active bookings of one session: never more than its seats (models/session_rules.py caps them).
    booking_ids: list[strawberry.ID] = strawberry.field(metadata=at_most(MOST_SEATS_PER_SESSION))


@maps(schedule_edits.CapacityBelowBooked)
@strawberry.type(name="CapacityBelowBooked")
class CapacityBelowBookedError(Error):
    booked: int


@maps(schedule_edits.SessionHasBookings)
@strawberry.type(name="SessionHasBookings")
class SessionHasBookingsError(Error):
    pass


CreateScheduleResult = Annotated[
    Schedule | InvalidInputError | SessionOverlapsError | SessionInThePastError,
    strawberry.union("CreateScheduleResult"),
]


@maps(weekly_templates.TemplateOverlaps)
@strawberry.type(name="TemplateOverlaps")
class TemplateOverlapsError(Error):
    what: str = strawberry.field(description="doctor or room")
    template_id: strawberry.ID


CreateWeeklyTemplateResult = Annotated[
    WeeklyTemplate | InvalidInputError | TemplateOverlapsError, strawberry.union("CreateWeeklyTemplateResult")
]
UpdateWeeklyTemplateResult = Annotated[
    WeeklyTemplate | NotFoundError | InvalidInputError | TemplateOverlapsError,
    strawberry.union("UpdateWeeklyTemplateResult"),
]
GenerateSchedulesResult = Annotated[
    GeneratedSchedules | InvalidInputError, strawberry.union("GenerateSchedulesResult")
]
AddCapacityResult = Annotated[Slot | NotFoundError | InvalidInputError, strawberry.union("AddCapacityResult")]
StopScheduleResult = Annotated[
    Schedule | NotFoundError | InvalidInputError | InvalidStatusTransition,
    strawberry.union("StopScheduleResult"),
]


UpdateScheduleResult = Annotated[
    Schedule
    | NotFoundError
    | InvalidInputError
    | SessionOverlapsError
    | SessionInThePastError
    | BookingsOutsideNewTimesError
    | CapacityBelowBookedError,
    strawberry.union("UpdateScheduleResult"),
]
StopMySessionResult = Annotated[
    Schedule | NotFoundError | NotAllowedError | InvalidInputError | InvalidStatusTransition,
    strawberry.union("StopMySessionResult"),
]
CloseSlotResult = Annotated[Slot | NotFoundError, strawberry.union("CloseSlotResult")]
DeleteScheduleResult = Annotated[
    DeletedSchedule | NotFoundError | SessionHasBookingsError, strawberry.union("DeleteScheduleResult")
]
DeleteWeeklyTemplateResult = Annotated[
    WeeklyTemplate | NotFoundError, strawberry.union("DeleteWeeklyTemplateResult")
]


@strawberry.input(
    description="替诊, another room, other times (same day) or another capacity; a reason always."
)
class UpdateScheduleInput:
    schedule_id: strawberry.ID
    doctor_id: strawberry.ID | None = None
    room_id: strawberry.ID | None = None
    start_time: time | None = None
    end_time: time | None = None
    capacity: int | None = None
    reason: str


@strawberry.type
class Query:
    @strawberry.field(description="A session with its slots; public, like the hospital's notice board.")
    async def schedule(self, info: Info, id: strawberry.ID) -> Schedule | None:
        row = await use_cases.find_schedule(info.context, parse_id(id))
        return Schedule.from_model(row) if row else None

    @strawberry.field(
        description=f"Sessions of a department (or a doctor) in a date range, with live counts; "
        f"the first {use_cases.SESSIONS_SHOWN} by start time.",
        metadata=per_day(
            "dateFrom", "dateTo", items_per_day=PLANNED_SESSIONS_PER_DAY, at_most=use_cases.SESSIONS_SHOWN
        ),
    )
    async def schedules(
        self,
        info: Info,
        date_from: date,
        date_to: date,
        department_id: strawberry.ID | None = None,
        doctor_id: strawberry.ID | None = None,
    ) -> list[Schedule]:
        rows = await use_cases.schedules(
            info.context,
            parse_optional_id(department_id, "departmentId"),
            parse_optional_id(doctor_id, "doctorId"),
            date_from,
            date_to,
        )
        return [Schedule.from_model(row) for row in rows]

    @strawberry.field(
        description="The clinic calendar's closures and extra working days in a range.",
        metadata=per_day(
            "from", "to", items_per_day=PLANNED_CLOSURES_PER_DAY, at_most=use_cases.CLOSURES_SHOWN
        ),
    )
    async def clinic_closures(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date
    ) -> list[ClinicClosure]:
        rows = await use_cases.clinic_closures(info.context, from_, to)
        return [ClinicClosure.from_model(row) for row in rows]

    @strawberry.field(
        permission_classes=[IsDoctor],
        description="The doctor's own sessions in a range: today, or history.",
        metadata=per_day(
            "dateFrom",
            "dateTo",
            items_per_day=PLANNED_SESSIONS_PER_DOCTOR_DAY,
            at_most=use_cases.SESSIONS_SHOWN,
        ),
    )
    async def my_sessions(self, info: Info, date_from: date, date_to: date) -> list[Schedule]:
        return [
            Schedule.from_model(row) for row in await use_cases.my_sessions(info.context, date_from, date_to)
        ]

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Active weekly templates, by weekday.",
        metadata=planned(PLANNED_WEEKLY_TEMPLATES),
    )
    async def weekly_templates(self, doctor_id: strawberry.ID | None = None) -> list[WeeklyTemplate]:
        rows = await use_cases.weekly_templates(parse_optional_id(doctor_id, "doctorId"))
        return [WeeklyTemplate.from_model(row) for row in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_schedule(self, info: Info, input: CreateScheduleInput) -> CreateScheduleResult:
        data = ScheduleInput(
            doctor_id=parse_id(input.doctor_id, "doctorId"),
            registration_type_id=parse_id(input.registration_type_id, "registrationTypeId"),
            room_id=parse_id(input.room_id, "roomId"),
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
            doctor_id=parse_id(input.doctor_id, "doctorId"),
            registration_type_id=parse_id(input.registration_type_id, "registrationTypeId"),
            room_id=parse_id(input.room_id, "roomId"),
            weekday=input.weekday,
            start=input.start_time,
            end=input.end_time,
            slot_minutes=input.slot_minutes,
            capacity=input.capacity,
        )
        return WeeklyTemplate.from_model(await use_cases.create_weekly_template(info.context, data))

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Later generation follows the edit; sessions already generated keep their shape.",
    )
    async def update_weekly_template(
        self, info: Info, input: UpdateWeeklyTemplateInput
    ) -> UpdateWeeklyTemplateResult:
        edit = weekly_templates.TemplateEdit(
            doctor_id=parse_optional_id(input.doctor_id, "doctorId"),
            registration_type_id=parse_optional_id(input.registration_type_id, "registrationTypeId"),
            room_id=parse_optional_id(input.room_id, "roomId"),
            weekday=input.weekday,
            start=input.start_time,
            end=input.end_time,
            slot_minutes=input.slot_minutes,
            capacity=input.capacity,
        )
        row = await use_cases.update_weekly_template(
            info.context, parse_id(input.template_id, "templateId"), edit, input.reason
        )
        return WeeklyTemplate.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Idempotent: existing sessions are kept.")
    async def generate_schedules(self, info: Info, input: GenerateSchedulesInput) -> GenerateSchedulesResult:
        ids = parse_ids(input.template_ids, "templateIds") if input.template_ids else None
        rows = await use_cases.generate_schedules(info.context, input.weeks, ids)
        return GeneratedSchedules(created=[Schedule.from_model(row) for row in rows])

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="替诊 (patients told the new doctor), room, times, capacity; bookings are kept.",
    )
    async def update_schedule(self, info: Info, input: UpdateScheduleInput) -> UpdateScheduleResult:
        edit = schedule_edits.ScheduleEdit(
            doctor_id=parse_optional_id(input.doctor_id, "doctorId"),
            room_id=parse_optional_id(input.room_id, "roomId"),
            start=input.start_time,
            end=input.end_time,
            capacity=input.capacity,
        )
        row = await use_cases.update_schedule(
            info.context, parse_id(input.schedule_id, "scheduleId"), edit, input.reason
        )
        return Schedule.from_model(row)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Generation skips (or, for 调休, adds) it."
    )
    async def create_clinic_closure(
        self, info: Info, input: CreateClinicClosureInput
    ) -> CreateClinicClosureResult:
        row = await use_cases.create_clinic_closure(
            info.context,
            input.date,
            input.reason,
            parse_optional_id(input.department_id, "departmentId"),
            input.working_weekday,
        )
        return ClinicClosure.from_model(row)

    @strawberry.mutation(
        permission_classes=[IsDoctor], description="停诊 of one's own session, when the hospital allows it."
    )
    async def stop_my_session(self, info: Info, input: StopScheduleInput) -> StopMySessionResult:
        row = await use_cases.stop_my_session(
            info.context, parse_id(input.schedule_id, "scheduleId"), input.reason
        )
        return Schedule.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin], description="No new bookings in this slot.")
    async def close_slot(self, info: Info, slot_id: strawberry.ID, reason: str) -> CloseSlotResult:
        return Slot.from_model(await use_cases.close_slot(info.context, parse_id(slot_id, "slotId"), reason))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Only a session nobody booked.")
    async def delete_schedule(self, info: Info, schedule_id: strawberry.ID) -> DeleteScheduleResult:
        deleted = await use_cases.delete_schedule(info.context, parse_id(schedule_id, "scheduleId"))
        return DeletedSchedule(id=strawberry.ID(str(deleted)))

    @strawberry.mutation(permission_classes=[IsAdmin], description="It generates no more sessions.")
    async def delete_weekly_template(
        self, info: Info, template_id: strawberry.ID
    ) -> DeleteWeeklyTemplateResult:
        return WeeklyTemplate.from_model(
            await use_cases.delete_weekly_template(info.context, parse_id(template_id, "templateId"))
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="加号: extra seats, recorded with who and why."
    )
    async def add_capacity(self, info: Info, input: AddCapacityInput) -> AddCapacityResult:
        slot = await use_cases.add_capacity(
            info.context,
            parse_id(input.schedule_id, "scheduleId"),
            parse_optional_id(input.slot_id, "slotId"),
            input.added,
            input.reason,
        )
        return Slot.from_model(slot)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="停诊: every booking is cancelled with the reason, refunded if paid, patients notified.",
    )
    async def stop_schedule(self, info: Info, input: StopScheduleInput) -> StopScheduleResult:
        return Schedule.from_model(
            await use_cases.stop_schedule(
                info.context, parse_id(input.schedule_id, "scheduleId"), input.reason
            )
        )
