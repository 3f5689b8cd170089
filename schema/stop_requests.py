"""停诊申请: doctors ask, administrators approve (the usual 停诊 runs) or reject; both see the state."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types.info import Info

from models import schedule_stop_requests as models
from models.schedule_stop_requests import StopRequestStatus
from resolvers import stop_requests as use_cases
from resolvers.loaders import ScheduleByIdLoader
from schema.errors import Error, InvalidInputError, NotFoundError, maps
from schema.ids import parse_id
from schema.list_bounds import at_most
from schema.permissions import IsAdmin, IsDoctor
from schema.scheduling import Schedule

strawberry.enum(StopRequestStatus, name="StopRequestStatus")


@strawberry.type(description="A doctor's request to stop (停诊) one of their sessions.")
class ScheduleStopRequest:
    id: strawberry.ID
    schedule_id: strawberry.ID
    doctor_id: strawberry.ID
    reason: str
    status: StopRequestStatus = strawberry.field(
        description="OVERTAKEN: the session was stopped another way before anyone decided."
    )
    decision_note: str
    created_at: datetime
    decided_at: datetime | None

    @strawberry.field
    async def schedule(self, info: Info) -> Schedule | None:
        row = await info.context.loader(ScheduleByIdLoader).load(int(self.schedule_id))
        return Schedule.from_model(row) if row else None

    @classmethod
    def from_model(cls, row: models.ScheduleStopRequest) -> ScheduleStopRequest:
        return cls(
            id=strawberry.ID(str(row.id)),
            schedule_id=strawberry.ID(str(row.schedule_id)),
            doctor_id=strawberry.ID(str(row.doctor_id)),
            reason=row.reason,
            status=row.status,
            decision_note=row.decision_note,
            created_at=row.created_at,
            decided_at=row.decided_at,
        )


@maps(models.StopRequestNotPending)
@strawberry.type(name="StopRequestNotPending", description="Nothing was done: already decided.")
class StopRequestNotPendingError(Error):
    status: StopRequestStatus


@maps(models.StopAlreadyRequested)
@strawberry.type(name="StopAlreadyRequested")
class StopAlreadyRequestedError(Error):
    request_id: strawberry.ID


@strawberry.input
class RequestScheduleStopInput:
    schedule_id: strawberry.ID
    reason: str


@strawberry.input
class DecideScheduleStopInput:
    request_id: strawberry.ID
    note: str = strawberry.field(default="", description="Required to reject: the doctor reads it.")


RequestScheduleStopResult = Annotated[
    ScheduleStopRequest | NotFoundError | InvalidInputError | StopAlreadyRequestedError,
    strawberry.union("RequestScheduleStopResult"),
]
DecideScheduleStopResult = Annotated[
    ScheduleStopRequest | NotFoundError | InvalidInputError | StopRequestNotPendingError,
    strawberry.union("DecideScheduleStopResult"),
]


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Oldest first; PENDING unless told.",
        metadata=at_most(use_cases.ADMIN_REQUESTS_SHOWN),
    )
    async def schedule_stop_requests(
        self, status: StopRequestStatus | None = StopRequestStatus.PENDING
    ) -> list[ScheduleStopRequest]:
        rows = await use_cases.requests_for_admin(status)
        return [ScheduleStopRequest.from_model(row) for row in rows]

    @strawberry.field(
        permission_classes=[IsDoctor],
        description="The doctor's own requests, newest first.",
        metadata=at_most(use_cases.OWN_REQUESTS_SHOWN),
    )
    async def my_schedule_stop_requests(self, info: Info) -> list[ScheduleStopRequest]:
        return [ScheduleStopRequest.from_model(row) for row in await use_cases.my_requests(info.context)]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        permission_classes=[IsDoctor],
        description="Ask an administrator to stop one's own session (where stopMySession is not allowed).",
    )
    async def request_schedule_stop(
        self, info: Info, input: RequestScheduleStopInput
    ) -> RequestScheduleStopResult:
        row = await use_cases.request_stop(
            info.context, parse_id(input.schedule_id, "scheduleId"), input.reason
        )
        return ScheduleStopRequest.from_model(row)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="停诊 with the doctor's reason: bookings cancelled, refunded if paid, patients told.",
    )
    async def approve_schedule_stop(
        self, info: Info, input: DecideScheduleStopInput
    ) -> DecideScheduleStopResult:
        row = await use_cases.approve(info.context, parse_id(input.request_id, "requestId"), input.note)
        return ScheduleStopRequest.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin], description="The session stays open.")
    async def reject_schedule_stop(
        self, info: Info, input: DecideScheduleStopInput
    ) -> DecideScheduleStopResult:
        row = await use_cases.reject(info.context, parse_id(input.request_id, "requestId"), input.note)
        return ScheduleStopRequest.from_model(row)
