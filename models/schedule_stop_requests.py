"""A doctor's request to stop their own session (停诊申请) where the hospital does not let doctors stop
sessions directly: an administrator approves it (the session is stopped by the usual 停诊 path, with
its cancellations, refunds and notices) or rejects it. One transition table, one writer; the writer is
called only from models/reactions.py (docs/decisions/231)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.clock import utcnow
from models.errors import DomainError, InvalidTransition


class StopRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    # The session was stopped another way (an administrator's 停诊) before anyone decided.
    OVERTAKEN = "overtaken"


S = StopRequestStatus

TRANSITIONS: dict[StopRequestStatus, frozenset[StopRequestStatus]] = {
    S.PENDING: frozenset({S.APPROVED, S.REJECTED, S.OVERTAKEN}),
    S.APPROVED: frozenset(),
    S.REJECTED: frozenset(),
    S.OVERTAKEN: frozenset(),
}


class ScheduleStopRequest(Model):
    id = fields.IntField(primary_key=True)
    schedule_id = fields.IntField(db_index=True)
    doctor_id = fields.IntField(db_index=True)
    requested_by = fields.IntField()  # the doctor's account
    reason = fields.CharField(max_length=255)
    status = fields.CharEnumField(StopRequestStatus, max_length=16, default=S.PENDING, db_index=True)
    # The session's id while the request is pending, NULL once decided: a unique key, so a session has
    # at most one pending request whoever asks twice at once (NULLs never clash on any database).
    pending_schedule_id = fields.IntField(null=True, unique=True)
    decided_by = fields.IntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "schedule_stop_request"


class StopRequestNotPending(DomainError):
    """Approving or rejecting a request already decided, or one whose session was stopped another
    way: nothing happens (a typed no-op, never a second stop)."""

    default_message = "this stop request was already decided"

    def __init__(self, status: StopRequestStatus) -> None:
        super().__init__(f"this stop request is already {status.value}", status=status)


class StopAlreadyRequested(DomainError):
    default_message = "a stop request for this session is already waiting for an administrator"

    def __init__(self, request_id: int) -> None:
        super().__init__(request_id=request_id)


@dataclass(frozen=True)
class StopApproval:
    """The request whose approval a 停诊 carries out: settled in the stop's transaction, after the
    session's row (the lock order every stop takes: slots, session, then its requests)."""

    request: ScheduleStopRequest
    note: str


@dataclass(frozen=True)
class StopRequestChanged:
    """A stop request's decision, for models/reactions.py."""

    request_id: int
    schedule_id: int
    from_status: StopRequestStatus
    to_status: StopRequestStatus
    actor_id: int | None


async def write_status(
    request: ScheduleStopRequest,
    target: StopRequestStatus,
    *,
    actor_id: int | None,
    note: str = "",
    at: datetime | None = None,
) -> StopRequestChanged:
    """The only way a stop request changes status: conditional on the status read, so of two admins
    deciding at once exactly one wins and the other gets StopRequestNotPending. Call inside a
    transaction."""
    current = request.status
    if target not in TRANSITIONS[current]:
        raise InvalidTransition("stop request", current.value, target.value)
    at = at or utcnow()
    changed = await ScheduleStopRequest.filter(id=request.id, status=current).update(
        status=target, pending_schedule_id=None, decided_by=actor_id, decided_at=at, decision_note=note[:255]
    )
    if changed != 1:
        # A locking read sees the latest commit under MariaDB's REPEATABLE READ too.
        fresh = await ScheduleStopRequest.select_for_update().get(id=request.id)
        raise StopRequestNotPending(fresh.status)
    request.status = target
    request.pending_schedule_id = None
    request.decided_by = actor_id
    request.decided_at = at
    request.decision_note = note[:255]
    return StopRequestChanged(request.id, request.schedule_id, current, target, actor_id)
