"""候补: join a waitlist for a full session (or any doctor of a department), get offered freed seats."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types.info import Info

from models.waitlist import entries as waitlist_models
from resolvers import waitlist as use_cases
from resolvers.loaders import WaitlistPositionByEntryLoader
from schema.booking import NotYetReleasedError
from schema.errors import Error, InvalidInputError, NotFoundError, maps
from schema.ids import parse_id, parse_optional_id
from schema.list_bounds import at_most
from schema.permissions import IsAdmin, IsPatient
from schema.scheduling import Period

# The domain enums are the GraphQL enums (strawberry.enum registers the classes themselves).
WaitlistStatus = waitlist_models.WaitlistStatus
WaitlistMode = waitlist_models.WaitlistMode
strawberry.enum(WaitlistStatus, name="WaitlistStatus")
strawberry.enum(WaitlistMode, name="WaitlistMode")


@strawberry.type
class WaitlistEntry:
    id: strawberry.ID
    status: WaitlistStatus
    mode: WaitlistMode
    patient_id: strawberry.ID
    schedule_id: strawberry.ID | None
    department_id: strawberry.ID
    date: date
    period: Period | None
    booking_id: strawberry.ID | None = strawberry.field(description="The held or booked seat, once offered.")
    offer_expires_at: datetime | None = strawberry.field(description="Accept and pay before this time.")
    deadline: datetime = strawberry.field(description="Waiting ends at this time if nothing frees.")
    joined_at: datetime = strawberry.field(description="In line since (for a prepaid entry: when paid).")
    fee_due: int = strawberry.field(description="Prepaid mode: the fee to pay on joining, in fen.")
    fee_paid: int = strawberry.field(description="Prepaid mode: the fee paid, in fen.")
    payment_expires_at: datetime | None = strawberry.field(
        description="AWAITING_PAYMENT: pay (payWaitlistEntry) before this time or the entry lapses."
    )

    @strawberry.field(description="1 = first in line; 0 once no longer waiting.")
    async def position(self, info: Info) -> int:
        return await info.context.loader(WaitlistPositionByEntryLoader).load(int(self.id))

    @classmethod
    def from_model(cls, row: waitlist_models.WaitlistEntry) -> WaitlistEntry:
        def optional_id(value: int | None) -> strawberry.ID | None:
            return strawberry.ID(str(value)) if value is not None else None

        return cls(
            id=strawberry.ID(str(row.id)),
            status=row.status,
            mode=row.mode,
            patient_id=strawberry.ID(str(row.patient_id)),
            schedule_id=optional_id(row.schedule_id),
            department_id=strawberry.ID(str(row.department_id)),
            date=row.visit_date,
            period=_period(row.period),
            booking_id=optional_id(row.booking_id),
            offer_expires_at=row.offer_expires_at,
            deadline=row.deadline,
            joined_at=row.joined_at,
            fee_due=row.fee_due,
            fee_paid=row.fee_paid,
            payment_expires_at=row.payment_expires_at,
        )


def _period(value: str | None) -> Period | None:
    return Period(value) if value else None


@strawberry.type
class WaitlistStats:
    waited: int
    served: int
    median_wait_seconds: float | None


@maps(waitlist_models.SeatsAvailable)
@strawberry.type(name="SeatsAvailable")
class SeatsAvailableError(Error):
    pass


@maps(waitlist_models.WaitlistLimitReached)
@strawberry.type(name="WaitlistLimitReached")
class WaitlistLimitReachedError(Error):
    limit: int


@maps(waitlist_models.AlreadyWaiting)
@strawberry.type(name="AlreadyWaiting")
class AlreadyWaitingError(Error):
    pass


@maps(waitlist_models.WaitlistClosed)
@strawberry.type(name="WaitlistClosed")
class WaitlistClosedError(Error):
    pass


JoinWaitlistResult = Annotated[
    WaitlistEntry
    | SeatsAvailableError
    | WaitlistLimitReachedError
    | AlreadyWaitingError
    | WaitlistClosedError
    | NotYetReleasedError
    | NotFoundError
    | InvalidInputError,
    strawberry.union("JoinWaitlistResult"),
]
LeaveWaitlistResult = Annotated[
    WaitlistEntry | NotFoundError | InvalidInputError, strawberry.union("LeaveWaitlistResult")
]
WaitlistStatsResult = Annotated[WaitlistStats | InvalidInputError, strawberry.union("WaitlistStatsResult")]


@strawberry.input(description="Either scheduleId, or departmentId and date (period and type optional).")
class JoinWaitlistInput:
    patient_id: strawberry.ID
    schedule_id: strawberry.ID | None = None
    department_id: strawberry.ID | None = None
    date: date | None = None
    period: Period | None = None
    registration_type_id: strawberry.ID | None = None


def _join_request(input: JoinWaitlistInput) -> use_cases.JoinRequest:
    return use_cases.JoinRequest(
        patient_id=parse_id(input.patient_id, "patientId"),
        schedule_id=parse_optional_id(input.schedule_id, "scheduleId"),
        department_id=parse_optional_id(input.department_id, "departmentId"),
        visit_date=input.date,
        period=input.period,
        registration_type_id=parse_optional_id(input.registration_type_id, "registrationTypeId"),
    )


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsPatient], metadata=at_most(use_cases.ENTRIES_SHOWN))
    async def my_waitlist(self, info: Info, active_only: bool = False) -> list[WaitlistEntry]:
        entries = await use_cases.my_entries(info.context, active_only)
        return [WaitlistEntry.from_model(e) for e in entries]

    @strawberry.field(permission_classes=[IsAdmin], description="How many waited, were served, median wait.")
    async def waitlist_stats(
        self,
        schedule_id: strawberry.ID | None = None,
        department_id: strawberry.ID | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> WaitlistStatsResult:
        result = await use_cases.stats(
            parse_optional_id(schedule_id, "scheduleId"),
            parse_optional_id(department_id, "departmentId"),
            date_from,
            date_to,
        )
        return WaitlistStats(
            waited=result.waited, served=result.served, median_wait_seconds=result.median_wait_seconds
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsPatient])
    async def join_waitlist(self, info: Info, input: JoinWaitlistInput) -> JoinWaitlistResult:
        entry = await use_cases.join(info.context, _join_request(input))
        return WaitlistEntry.from_model(entry)

    @strawberry.mutation(permission_classes=[IsPatient])
    async def leave_waitlist(self, info: Info, entry_id: strawberry.ID) -> LeaveWaitlistResult:
        entry = await use_cases.leave(info.context, parse_id(entry_id, "entryId"))
        return WaitlistEntry.from_model(entry)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[IsPatient],
        description="The caller's entries, on every change.",
        metadata=at_most(use_cases.ENTRIES_SHOWN),
    )
    async def my_waitlist(self, info: Info) -> AsyncGenerator[list[WaitlistEntry], None]:
        async for entries in use_cases.my_waitlist_stream(info.context):
            info.context.fresh_loaders()
            yield [WaitlistEntry.from_model(e) for e in entries]
