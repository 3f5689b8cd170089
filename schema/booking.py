"""Booking (挂号): bookSlot, cancellation, records with cursor pagination, no-show blocks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types.info import Info

from models import booking as booking_models
from models import no_shows as no_show_models
from models.booking import BookingStatus, rules
from resolvers import booking as use_cases
from resolvers.booking import CURSOR_KIND, BookingFilter
from resolvers.loaders import PatientByIdLoader
from schema.accounts import Patient
from schema.errors import Error, InvalidInputError, InvalidStatusTransition, NotFoundError, maps
from schema.pagination import Connection, decode_cursor, input_errors_as_graphql_errors
from schema.permissions import IsAdmin, IsAuthenticated, IsPatient, IsStaff
from schema.scheduling import local

# The domain enum is the GraphQL enum (strawberry.enum registers the class itself).
strawberry.enum(BookingStatus, name="BookingStatus")


class BookingEventsByBookingLoader(DataLoader[int, list[booking_models.BookingEvent]]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> Sequence[list[booking_models.BookingEvent]]:
        grouped: dict[int, list[booking_models.BookingEvent]] = defaultdict(list)
        for row in await booking_models.BookingEvent.filter(booking_id__in=set(keys)).order_by("id"):
            grouped[row.booking_id].append(row)
        return [grouped.get(key, []) for key in keys]


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
        return Patient.from_model(row) if row else None

    @strawberry.field(description="Every status change, oldest first.")
    async def history(self, info: Info) -> list[BookingEvent]:
        rows = await info.context.loader(BookingEventsByBookingLoader).load(int(self.id))
        return [
            BookingEvent(
                from_status=row.from_status,
                to_status=row.to_status,
                actor_id=strawberry.ID(str(row.actor_id)) if row.actor_id is not None else None,
                reason=row.reason,
                at=local(row.at),
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
            slot_start=local(row.slot_starts_at),
            slot_end=local(row.slot_ends_at),
            fee=row.fee,
            expires_at=local(row.expires_at) if row.expires_at else None,
            cancel_reason=row.cancel_reason,
            created_at=local(row.created_at),
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


BookSlotResult = Annotated[
    Booking
    | SlotUnavailableError
    | NotYetReleasedError
    | DuplicateBookingError
    | QuotaExceededError
    | BlacklistedError
    | BookingClosedError
    | PatientNotFoundError
    | IdempotencyKeyReusedError
    | InvalidInputError,
    strawberry.union("BookSlotResult"),
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
        def number(value: strawberry.ID | None) -> int | None:
            return int(value) if value is not None else None

        return BookingFilter(
            statuses=list(self.statuses) if self.statuses else None,
            date_from=self.date_from,
            date_to=self.date_to,
            department_id=number(self.department_id),
            doctor_id=number(self.doctor_id),
            schedule_id=number(self.schedule_id),
            patient_id=number(self.patient_id),
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
            starts_at=local(row.starts_at),
            ends_at=local(row.ends_at),
            lifted_at=local(row.lifted_at) if row.lifted_at else None,
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
    @strawberry.field(permission_classes=[IsPatient], description="The caller's bookings, newest first.")
    async def my_bookings(
        self, info: Info, filter: BookingFilterInput | None = None, first: int = 20, after: str | None = None
    ) -> Connection[Booking]:
        criteria = filter.to_filter() if filter else BookingFilter()
        with input_errors_as_graphql_errors():
            page = await use_cases.my_bookings(
                info.context, criteria, first, decode_cursor(CURSOR_KIND, after)
            )
        return Connection.of(page, CURSOR_KIND, Booking.from_model)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def booking(self, info: Info, id: strawberry.ID) -> BookingResult:
        return Booking.from_model(await use_cases.booking(info.context, int(id)))

    @strawberry.field(permission_classes=[IsAdmin], description="Every booking, with filters, newest first.")
    async def bookings(
        self, info: Info, filter: BookingFilterInput | None = None, first: int = 20, after: str | None = None
    ) -> Connection[Booking]:
        criteria = filter.to_filter() if filter else BookingFilter()
        with input_errors_as_graphql_errors():
            page = await use_cases.all_bookings(
                info.context, criteria, first, decode_cursor(CURSOR_KIND, after)
            )
        return Connection.of(page, CURSOR_KIND, Booking.from_model)

    @strawberry.field(
        permission_classes=[IsStaff],
        description="A session's bookings in queue order (a doctor: own sessions).",
    )
    async def session_bookings(self, info: Info, schedule_id: strawberry.ID) -> list[Booking]:
        return [
            Booking.from_model(row)
            for row in await use_cases.session_bookings(info.context, int(schedule_id))
        ]

    @strawberry.field(permission_classes=[IsPatient], description="No-show blocks in force for my patients.")
    async def my_no_show_blocks(self, info: Info) -> list[NoShowBlock]:
        return [NoShowBlock.from_model(row) for row in await use_cases.my_no_show_blocks(info.context)]

    @strawberry.field(permission_classes=[IsAdmin])
    async def no_show_blocks(self, info: Info, active_only: bool = True) -> list[NoShowBlock]:
        return [
            NoShowBlock.from_model(row) for row in await use_cases.no_show_blocks(info.context, active_only)
        ]


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsPatient])
    async def book_slot(self, info: Info, input: BookSlotInput) -> BookSlotResult:
        row = await use_cases.book_slot(
            info.context, int(input.slot_id), int(input.patient_id), input.idempotency_key
        )
        return Booking.from_model(row)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def cancel_booking(self, info: Info, input: CancelBookingInput) -> CancelBookingResult:
        return Booking.from_model(
            await use_cases.cancel_booking(info.context, int(input.booking_id), input.reason)
        )

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def lift_no_show_block(self, info: Info, input: LiftNoShowBlockInput) -> LiftNoShowBlockResult:
        block = await use_cases.lift_no_show_block(info.context, int(input.block_id), input.reason)
        return NoShowBlock.from_model(block)
