"""Booking (挂号): bookSlot, cancellation, records with cursor pagination, no-show blocks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types.info import Info

from models import booking as booking_models
from models import no_shows as no_show_models
from models.booking import BookingStatus, rules
from models.booking import reschedule as reschedule_models
from resolvers import booking as use_cases
from resolvers.booking import CURSOR_KIND, BookingFilter
from resolvers.loaders import BookingEventsByBookingLoader, PatientByIdLoader
from schema.accounts import Patient
from schema.errors import Error, InvalidInputError, InvalidStatusTransition, NotFoundError, maps
from schema.ids import parse_id, parse_optional_id
from schema.list_bounds import at_most, page_size
from schema.pagination import Connection, decode_cursor
from schema.permissions import IsAdmin, IsAuthenticated, IsDoctor, IsPatient, IsStaff

# The domain enum is the GraphQL enum (strawberry.enum registers the class itself).
strawberry.enum(BookingStatus, name="BookingStatus")


HISTORY_SHOWN = 50  # status changes of one booking, the latest


@strawberry.type(description="One change of a booking's status: when, by whom, why.")
class BookingEvent:
    from_status: BookingStatus | None
    to_status: BookingStatus
    actor_id: strawberry.ID | None
    reason: str
    at: datetime


@strawberry.type(description="A booking (挂号) of one seat in a time slot of a session.")
class Booking:
    id: strawberry.ID
    status: BookingStatus
    fhir_status: str = strawberry.field(description="FHIR R4 Appointment.status.")
    queue_number: int = strawberry.field(description="The n-th number of the session.")
    schedule_id: strawberry.ID
    slot_id: strawberry.ID
    patient_id: strawberry.ID
    department_id: strawberry.ID
    visit_date: date
    slot_start: datetime
    slot_end: datetime
    fee: int = strawberry.field(description="Fen.")
    expires_at: datetime | None = strawberry.field(description="End of the payment hold while pending.")
    cancel_reason: str
    created_at: datetime

    @strawberry.field
    async def patient(self, info: Info) -> Patient | None:
        row = await info.context.loader(PatientByIdLoader).load(int(self.patient_id))
        return Patient.from_model(row, booking_id=int(self.id)) if row else None

    @strawberry.field(
        description=f"Every status change, oldest first (the last {HISTORY_SHOWN}).",
        metadata=at_most(HISTORY_SHOWN),
    )
    async def history(self, info: Info) -> list[BookingEvent]:
        # 回诊 (back to the queue after tests) can repeat, so a history has no natural end.
        rows = (await info.context.loader(BookingEventsByBookingLoader).load(int(self.id)))[-HISTORY_SHOWN:]
        return [
            BookingEvent(
                from_status=row.from_status,
                to_status=row.to_status,
                actor_id=strawberry.ID(str(row.actor_id)) if row.actor_id is not None else None,
                reason=row.reason,
                at=row.at,
            )
            for row in rows
        ]

    @classmethod
    def from_model(cls, row: booking_models.Booking) -> Booking:
        return cls(
            id=strawberry.ID(str(row.id)),
            status=row.status,
            fhir_status=booking_models.FHIR_STATUS[row.status],
            queue_number=row.queue_number,
            schedule_id=strawberry.ID(str(row.schedule_id)),
            slot_id=strawberry.ID(str(row.slot_id)),
            patient_id=strawberry.ID(str(row.patient_id)),
            department_id=strawberry.ID(str(row.department_id)),
            visit_date=row.visit_date,
            slot_start=row.slot_starts_at,
            slot_end=row.slot_ends_at,
            fee=row.fee,
            expires_at=row.expires_at if row.expires_at else None,
            cancel_reason=row.cancel_reason,
            created_at=row.created_at,
        )


# -- expected failures of bookSlot and cancelBooking (exact GraphQL names are part of the contract)


@maps(rules.SlotUnavailable)
@strawberry.type(name="SlotUnavailable")
class SlotUnavailableError(Error):
    pass


@maps(rules.NotYetReleased)
@strawberry.type(name="NotYetReleased")
class NotYetReleasedError(Error):
    release_at: datetime


@maps(rules.DuplicateBooking)
@strawberry.type(name="DuplicateBooking")
class DuplicateBookingError(Error):
    pass


@maps(rules.QuotaExceeded)
@strawberry.type(name="QuotaExceeded")
class QuotaExceededError(Error):
    limit: int


@maps(rules.Blacklisted)
@strawberry.type(name="Blacklisted")
class BlacklistedError(Error):
    ends_at: datetime


@maps(rules.BookingClosed)
@strawberry.type(name="BookingClosed")
class BookingClosedError(Error):
    pass


@maps(rules.PatientNotFound)
@strawberry.type(name="PatientNotFound")
class PatientNotFoundError(Error):
    pass


@maps(rules.IdempotencyKeyReused)
@strawberry.type(name="IdempotencyKeyReused")
class IdempotencyKeyReusedError(Error):
    pass


@maps(rules.CancellationClosed)
@strawberry.type(name="CancellationClosed")
class CancellationClosedError(Error):
    deadline: datetime


# What the one placement may refuse, whichever way a booking comes in (app, desk, reschedule).
PlacementRefused = (
    SlotUnavailableError
    | DuplicateBookingError
    | QuotaExceededError
    | BlacklistedError
    | BookingClosedError
    | IdempotencyKeyReusedError
    | InvalidInputError
)
BookSlotResult = Annotated[
    Booking | NotYetReleasedError | PatientNotFoundError | PlacementRefused,
    strawberry.union("BookSlotResult"),
]


@maps(reschedule_models.RescheduleNotAllowed)
@strawberry.type(name="RescheduleNotAllowed")
class RescheduleNotAllowedError(Error):
    pass


RescheduleBookingResult = Annotated[
    Booking
    | CancellationClosedError
    | RescheduleNotAllowedError
    | InvalidStatusTransition
    | NotFoundError
    | PlacementRefused,
    strawberry.union("RescheduleBookingResult"),
]
CancelBookingResult = Annotated[
    Booking | NotFoundError | CancellationClosedError | InvalidStatusTransition | InvalidInputError,
    strawberry.union("CancelBookingResult"),
]


@strawberry.input
class BookSlotInput:
    slot_id: strawberry.ID
    patient_id: strawberry.ID
    idempotency_key: str = strawberry.field(description="Client-chosen, 8-80 characters; retries reuse it.")
    pre_consultation_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A finished pre-consultation of this patient: its summary goes to the doctor.",
    )


@strawberry.input(description="改约: move a confirmed or pending booking to another slot of its department.")
class RescheduleBookingInput:
    booking_id: strawberry.ID
    slot_id: strawberry.ID
    idempotency_key: str = strawberry.field(description="Client-chosen, 8-80 characters; retries reuse it.")


@strawberry.input
class CancelBookingInput:
    booking_id: strawberry.ID
    reason: str = ""


@strawberry.input
class BookingFilterInput:
    statuses: list[BookingStatus] | None = None
    date_from: date | None = None
    date_to: date | None = None
    department_id: strawberry.ID | None = None
    doctor_id: strawberry.ID | None = None
    schedule_id: strawberry.ID | None = None
    patient_id: strawberry.ID | None = None

    def to_filter(self) -> BookingFilter:
        return BookingFilter(
            statuses=list(self.statuses) if self.statuses else None,
            date_from=self.date_from,
            date_to=self.date_to,
            department_id=parse_optional_id(self.department_id, "departmentId"),
            doctor_id=parse_optional_id(self.doctor_id, "doctorId"),
            schedule_id=parse_optional_id(self.schedule_id, "scheduleId"),
            patient_id=parse_optional_id(self.patient_id, "patientId"),
        )


@strawberry.input(description="A doctor's history: every filter optional.")
class ClinicHistoryFilterInput:
    date_from: date | None = None
    date_to: date | None = None
    statuses: list[BookingStatus] | None = None
    department_id: strawberry.ID | None = strawberry.field(
        default=None, description="Includes its sub-departments."
    )
    patient_name: str | None = strawberry.field(default=None, description="Part of the patient's name.")

    def to_filter(self) -> BookingFilter:
        return BookingFilter(
            statuses=list(self.statuses) if self.statuses else None,
            date_from=self.date_from,
            date_to=self.date_to,
            department_id=parse_optional_id(self.department_id, "departmentId"),
            patient_name=self.patient_name,
        )


@strawberry.type(description="爽约 block: online booking is refused for this person until `endsAt`.")
class NoShowBlock:
    id: strawberry.ID
    patient_id: strawberry.ID
    no_shows: int
    starts_at: datetime
    ends_at: datetime
    lifted_at: datetime | None
    lift_reason: str

    @classmethod
    def from_model(cls, row: no_show_models.NoShowBlock) -> NoShowBlock:
        return cls(
            id=strawberry.ID(str(row.id)),
            patient_id=strawberry.ID(str(row.patient_id)),
            no_shows=row.no_shows,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            lifted_at=row.lifted_at if row.lifted_at else None,
            lift_reason=row.lift_reason,
        )


@strawberry.input
class LiftNoShowBlockInput:
    block_id: strawberry.ID
    reason: str


LiftNoShowBlockResult = Annotated[
    NoShowBlock | NotFoundError | InvalidInputError, strawberry.union("LiftNoShowBlockResult")
]
BookingResult = Annotated[Booking | NotFoundError, strawberry.union("BookingResult")]


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[IsPatient],
        description="The caller's bookings, newest first.",
        metadata=page_size(),
    )
    async def my_bookings(
        self, info: Info, filter: BookingFilterInput | None = None, first: int = 20, after: str | None = None
    ) -> Connection[Booking]:
        criteria = filter.to_filter() if filter else BookingFilter()
        page = await use_cases.my_bookings(info.context, criteria, first, decode_cursor(CURSOR_KIND, after))
        return Connection.of(page, CURSOR_KIND, Booking.from_model)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def booking(self, info: Info, id: strawberry.ID) -> BookingResult:
        return Booking.from_model(await use_cases.booking(info.context, parse_id(id)))

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Every booking, with filters, newest first.",
        metadata=page_size(),
    )
    async def bookings(
        self, filter: BookingFilterInput | None = None, first: int = 20, after: str | None = None
    ) -> Connection[Booking]:
        criteria = filter.to_filter() if filter else BookingFilter()
        page = await use_cases.all_bookings(criteria, first, decode_cursor(CURSOR_KIND, after))
        return Connection.of(page, CURSOR_KIND, Booking.from_model)

    @strawberry.field(
        permission_classes=[IsDoctor],
        description="The doctor's patients across all their sessions, newest first, with filters.",
        metadata=page_size(),
    )
    async def my_clinic_history(
        self,
        info: Info,
        filter: ClinicHistoryFilterInput | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Booking]:
        criteria = filter.to_filter() if filter else BookingFilter()
        page = await use_cases.clinic_history(
            info.context, criteria, first, decode_cursor(CURSOR_KIND, after)
        )
        return Connection.of(page, CURSOR_KIND, Booking.from_model)

    @strawberry.field(
        permission_classes=[IsStaff],
        description=f"A session's bookings in queue order, the first {use_cases.SESSION_BOOKINGS_SHOWN} "
        "(a doctor: own sessions).",
        metadata=at_most(use_cases.SESSION_BOOKINGS_SHOWN),
    )
    async def session_bookings(self, info: Info, schedule_id: strawberry.ID) -> list[Booking]:
        return [
            Booking.from_model(row)
            for row in await use_cases.session_bookings(info.context, parse_id(schedule_id, "scheduleId"))
        ]

    @strawberry.field(
        permission_classes=[IsPatient],
        description="No-show blocks in force for my patients.",
        metadata=at_most(use_cases.NO_SHOW_BLOCKS_SHOWN),
    )
    async def my_no_show_blocks(self, info: Info) -> list[NoShowBlock]:
        return [NoShowBlock.from_model(row) for row in await use_cases.my_no_show_blocks(info.context)]

    @strawberry.field(permission_classes=[IsAdmin], metadata=at_most(use_cases.MAX_PAGE))
    async def no_show_blocks(self, active_only: bool = True) -> list[NoShowBlock]:
        return [NoShowBlock.from_model(row) for row in await use_cases.no_show_blocks(active_only)]


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsPatient])
    async def book_slot(self, info: Info, input: BookSlotInput) -> BookSlotResult:
        row = await use_cases.book_slot(
            info.context,
            parse_id(input.slot_id, "slotId"),
            parse_id(input.patient_id, "patientId"),
            input.idempotency_key,
            pre_consultation_id=parse_optional_id(input.pre_consultation_id, "preConsultationId"),
        )
        return Booking.from_model(row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The new seat is taken before the old one is given back; the fee difference follows.",
    )
    async def reschedule_booking(self, info: Info, input: RescheduleBookingInput) -> RescheduleBookingResult:
        row = await use_cases.reschedule_booking(
            info.context,
            parse_id(input.booking_id, "bookingId"),
            parse_id(input.slot_id, "slotId"),
            input.idempotency_key,
        )
        return Booking.from_model(row)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def cancel_booking(self, info: Info, input: CancelBookingInput) -> CancelBookingResult:
        return Booking.from_model(
            await use_cases.cancel_booking(
                info.context, parse_id(input.booking_id, "bookingId"), input.reason
            )
        )

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def lift_no_show_block(self, info: Info, input: LiftNoShowBlockInput) -> LiftNoShowBlockResult:
        block = await use_cases.lift_no_show_block(
            info.context, parse_id(input.block_id, "blockId"), input.reason
        )
        return NoShowBlock.from_model(block)
