"""停诊申请: a doctor asks for their own session to be stopped; an administrator approves (the usual 停诊
path runs) or rejects. Deciding twice, or after the session was stopped another way, is a typed no-op
(StopRequestNotPending), never a second stop (docs/decisions/231)."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import audit, reactions
from models.clock import utcnow
from models.errors import InvalidInput, InvalidTransition, NotFound
from models.schedule_stop_requests import (
    ScheduleStopRequest,
    StopAlreadyRequested,
    StopApproval,
    StopRequestNotPending,
    StopRequestStatus,
)
from models.scheduling import Schedule, ScheduleStatus
from models.text_rules import clean_text
from resolvers.context import Context
from resolvers.scheduling import own_doctor_ids, stop_in_transaction

ADMIN_REQUESTS_SHOWN = 500
OWN_REQUESTS_SHOWN = 200

S = StopRequestStatus
REQUEST_AUDIT_FIELDS = ("schedule_id", "doctor_id", "reason", "status", "decision_note")


async def request_stop(context: Context, schedule_id: int, reason: str) -> ScheduleStopRequest:
    reason = clean_text(reason, field="reason", max_length=255)
    schedule = await Schedule.filter(id=schedule_id, doctor_id__in=await own_doctor_ids(context)).first()
    if schedule is None:
        raise NotFound("no such session")
    if schedule.status is not ScheduleStatus.OPEN or schedule.ends_at <= utcnow():
        raise InvalidInput("scheduleId", "only an open session that has not ended can be stopped")
    try:
        async with in_transaction():
            request = await ScheduleStopRequest.create(
                schedule_id=schedule.id,
                doctor_id=schedule.doctor_id,
                requested_by=context.viewer.account_id,
                reason=reason,
                pending_schedule_id=schedule.id,
            )
            await audit.record(
                context.viewer.account_id,
                "schedule_stop_request.create",
                "schedule_stop_request",
                request.id,
                after=audit.snapshot(request, REQUEST_AUDIT_FIELDS),
                reason=reason,
            )
    except IntegrityError:
        # The unique pending key: this session already has a request waiting (perhaps sent a moment ago).
        waiting = await ScheduleStopRequest.filter(pending_schedule_id=schedule.id).first()
        raise StopAlreadyRequested(waiting.id if waiting else 0) from None
    return request


async def _pending(request_id: int) -> ScheduleStopRequest:
    request = await ScheduleStopRequest.get_or_none(id=request_id)
    if request is None:
        raise NotFound("no such stop request")
    if request.status is not S.PENDING:
        raise StopRequestNotPending(request.status)
    return request


async def approve(context: Context, request_id: int, note: str) -> ScheduleStopRequest:
    """The usual 停诊 with the doctor's reason; the request is settled inside the stop, after the
    session's row, so a second approval or any other stop racing this one loses on the session's
    conditional status update and nothing is stopped twice."""
    note = clean_text(note, field="note", max_length=255, required=False)
    try:
        async with in_transaction():
            request = await _pending(request_id)
            before = audit.snapshot(request, REQUEST_AUDIT_FIELDS)
            await stop_in_transaction(
                context, request.schedule_id, request.reason, approving=StopApproval(request, note)
            )
            await audit.record(
                context.viewer.account_id,
                "schedule_stop_request.approve",
                "schedule_stop_request",
                request.id,
                before=before,
                after=audit.snapshot(request, REQUEST_AUDIT_FIELDS),
                reason=note,
            )
    except InvalidTransition:
        # The session was stopped first, by another approval or another way (rolled back: nothing
        # done). A request made while that stop was committing is still pending: it is overtaken.
        async with in_transaction():
            request = await ScheduleStopRequest.select_for_update().get(id=request_id)
            if request.status is S.PENDING:
                await reactions.change_stop_request(
                    request, S.OVERTAKEN, actor_id=context.viewer.account_id, note="the session was stopped"
                )
        raise StopRequestNotPending(request.status) from None
    return request


async def reject(context: Context, request_id: int, note: str) -> ScheduleStopRequest:
    note = clean_text(note, field="note", max_length=255)
    async with in_transaction():
        request = await _pending(request_id)
        before = audit.snapshot(request, REQUEST_AUDIT_FIELDS)
        await reactions.change_stop_request(
            request, S.REJECTED, actor_id=context.viewer.account_id, note=note
        )
        await audit.record(
            context.viewer.account_id,
            "schedule_stop_request.reject",
            "schedule_stop_request",
            request.id,
            before=before,
            after=audit.snapshot(request, REQUEST_AUDIT_FIELDS),
            reason=note,
        )
    return request


async def requests_for_admin(status: StopRequestStatus | None) -> list[ScheduleStopRequest]:
    query = ScheduleStopRequest.all() if status is None else ScheduleStopRequest.filter(status=status)
    return await query.order_by("created_at", "id").limit(ADMIN_REQUESTS_SHOWN)


async def my_requests(context: Context) -> list[ScheduleStopRequest]:
    own = await own_doctor_ids(context)
    return (
        await ScheduleStopRequest.filter(doctor_id__in=own)
        .order_by("-created_at", "-id")
        .limit(OWN_REQUESTS_SHOWN)
    )
