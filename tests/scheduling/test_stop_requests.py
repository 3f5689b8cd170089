"""停诊申请: where doctors may not stop their own sessions, they ask; an administrator approves (the
session stops with its cancellations and notices) or rejects; the doctor sees the state; every step is
audited; deciding twice, or after the session was stopped another way, does nothing (a typed no-op)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from models.audit import AuditEntry
from models.booking import Booking, BookingStatus
from models.errors import InvalidTransition
from models.reactions import change_stop_request
from models.schedule_stop_requests import ScheduleStopRequest, StopRequestStatus
from models.scheduling import Schedule, ScheduleStatus
from tests import factories
from tests.fixtures.api import GraphQLClient

REQUEST = """
mutation($i: RequestScheduleStopInput!) {
  requestScheduleStop(input: $i) {
    __typename ... on ScheduleStopRequest { id status } ... on StopAlreadyRequested { requestId }
  }
}"""
APPROVE = """
mutation($i: DecideScheduleStopInput!) {
  approveScheduleStop(input: $i) {
    __typename ... on ScheduleStopRequest { id status } ... on StopRequestNotPending { status code }
  }
}"""
REJECT = """
mutation($i: DecideScheduleStopInput!) {
  rejectScheduleStop(input: $i) {
    __typename ... on ScheduleStopRequest { id status decisionNote } ... on StopRequestNotPending { status }
  }
}"""
PENDING = "{ scheduleStopRequests { id reason schedule { id status } } }"
MINE = "{ myScheduleStopRequests { id status decisionNote } }"
STOP = """
mutation($i: StopScheduleInput!) { stopSchedule(input: $i) { __typename ... on Schedule { status } } }"""


async def _asked(gql: GraphQLClient) -> tuple[Any, Any, str, factories.Actor]:
    """A doctor's session with one confirmed booking, and the doctor's pending request to stop it."""
    doctor, login = await factories.doctor()
    session = await factories.session(capacity=4, doctor_row=doctor)
    booking = await factories.confirmed_booking(session, slot_starts_in=timedelta(days=1))
    asked = await gql.as_(login.token).data(
        REQUEST, {"i": {"scheduleId": str(session.id), "reason": "家中急事"}}
    )
    assert asked["requestScheduleStop"]["status"] == "PENDING", asked
    return session, booking, asked["requestScheduleStop"]["id"], login


async def test_an_approved_request_stops_the_session_through_the_usual_path(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    session, booking, request_id, login = await _asked(gql)

    pending = await gql.as_(admin.token).data(PENDING)
    approved = await gql.as_(admin.token).data(APPROVE, {"i": {"requestId": request_id, "note": "同意"}})
    mine = await gql.as_(login.token).data(MINE)
    after = await gql.as_(admin.token).data(PENDING)

    assert pending["scheduleStopRequests"] == [
        {"id": request_id, "reason": "家中急事", "schedule": {"id": str(session.id), "status": "OPEN"}}
    ]
    assert approved["approveScheduleStop"] == {
        "__typename": "ScheduleStopRequest",
        "id": request_id,
        "status": "APPROVED",
    }
    assert mine["myScheduleStopRequests"] == [
        {"id": request_id, "status": "APPROVED", "decisionNote": "同意"}
    ]
    assert after["scheduleStopRequests"] == []
    stopped = await Schedule.get(id=session.id)
    assert (stopped.status, stopped.stop_reason) == (ScheduleStatus.STOPPED, "家中急事")
    assert (await Booking.get(id=booking.id)).status is BookingStatus.CANCELLED
    actions = set(await AuditEntry.all().values_list("action", flat=True))
    assert {
        "schedule_stop_request.create",
        "schedule_stop_request.approve",
        "schedule.stop",
    } <= actions


async def test_a_rejected_request_leaves_the_session_open_and_the_doctor_reads_why(
    gql: GraphQLClient,
) -> None:
    admin = await factories.admin_user()
    session, booking, request_id, login = await _asked(gql)

    rejected = await gql.as_(admin.token).data(REJECT, {"i": {"requestId": request_id, "note": "请找人替诊"}})
    again = await gql.as_(admin.token).data(APPROVE, {"i": {"requestId": request_id}})
    mine = await gql.as_(login.token).data(MINE)

    assert rejected["rejectScheduleStop"]["status"] == "REJECTED"
    assert again["approveScheduleStop"] == {
        "__typename": "StopRequestNotPending",
        "status": "REJECTED",
        "code": "STOP_REQUEST_NOT_PENDING",
    }
    assert mine["myScheduleStopRequests"] == [
        {"id": request_id, "status": "REJECTED", "decisionNote": "请找人替诊"}
    ]
    assert (await Schedule.get(id=session.id)).status is ScheduleStatus.OPEN
    assert (await Booking.get(id=booking.id)).status is BookingStatus.CONFIRMED
    assert await AuditEntry.filter(action="schedule_stop_request.reject", actor_id=admin.id).count() == 1


async def test_one_pending_request_per_session_and_only_for_ones_own_open_session(gql: GraphQLClient) -> None:
    session, _, request_id, login = await _asked(gql)
    strangers = await factories.session(capacity=2)

    twice = await gql.as_(login.token).data(REQUEST, {"i": {"scheduleId": str(session.id), "reason": "再问"}})
    not_mine = await gql.as_(login.token).data(
        REQUEST, {"i": {"scheduleId": str(strangers.id), "reason": "x"}}
    )

    assert twice["requestScheduleStop"] == {"__typename": "StopAlreadyRequested", "requestId": request_id}
    assert not_mine["requestScheduleStop"]["__typename"] == "NotFoundError"


async def test_approving_twice_at_once_stops_the_session_once(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    other_admin = await factories.admin_user()
    session, _, request_id, _ = await _asked(gql)
    variables = {"i": {"requestId": request_id}}

    answers = await asyncio.gather(
        gql.as_(admin.token).data(APPROVE, variables), gql.as_(other_admin.token).data(APPROVE, variables)
    )

    kinds = sorted(a["approveScheduleStop"]["__typename"] for a in answers)
    assert kinds == ["ScheduleStopRequest", "StopRequestNotPending"]
    assert await AuditEntry.filter(action="schedule.stop", target_id=str(session.id)).count() == 1
    events = await Booking.filter(schedule_id=session.id, status=BookingStatus.CANCELLED).count()
    assert events == 1


async def test_approving_after_the_session_was_stopped_another_way_does_nothing(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    session, _, request_id, login = await _asked(gql)
    await gql.as_(admin.token).data(STOP, {"i": {"scheduleId": str(session.id), "reason": "院方停诊"}})

    late = await gql.as_(admin.token).data(APPROVE, {"i": {"requestId": request_id}})
    mine = await gql.as_(login.token).data(MINE)

    assert late["approveScheduleStop"]["__typename"] == "StopRequestNotPending"
    assert late["approveScheduleStop"]["status"] == "OVERTAKEN"
    assert mine["myScheduleStopRequests"][0]["status"] == "OVERTAKEN"
    assert (await Schedule.get(id=session.id)).stop_reason == "院方停诊"
    assert await AuditEntry.filter(action="schedule.stop").count() == 1


async def test_approval_racing_an_administrators_stop_ends_with_one_stop(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    other_admin = await factories.admin_user()
    session, _, request_id, _ = await _asked(gql)

    approved, stopped = await asyncio.gather(
        gql.as_(admin.token).data(APPROVE, {"i": {"requestId": request_id}}),
        gql.as_(other_admin.token).data(STOP, {"i": {"scheduleId": str(session.id), "reason": "院方停诊"}}),
    )

    request = await ScheduleStopRequest.get(id=int(request_id))
    stops = await AuditEntry.filter(action="schedule.stop").count()
    if request.status is StopRequestStatus.APPROVED:
        # The approval came first: the administrator's stop found the session stopped already.
        assert approved["approveScheduleStop"]["__typename"] == "ScheduleStopRequest"
        assert stopped["stopSchedule"]["__typename"] == "InvalidStatusTransition"
    else:
        assert request.status is StopRequestStatus.OVERTAKEN
        assert approved["approveScheduleStop"]["__typename"] == "StopRequestNotPending"
        assert stopped["stopSchedule"] == {"__typename": "Schedule", "status": "STOPPED"}
    assert stops == 1


@pytest.mark.parametrize("source", list(StopRequestStatus))
@pytest.mark.parametrize("target", list(StopRequestStatus))
@pytest.mark.usefixtures("settings")
async def test_every_transition_of_a_stop_request(
    source: StopRequestStatus, target: StopRequestStatus
) -> None:
    session = await factories.session(capacity=1)
    request = await ScheduleStopRequest.create(
        schedule_id=session.id, doctor_id=session.doctor_id, requested_by=0, reason="x", status=source
    )
    allowed = source is StopRequestStatus.PENDING and target is not StopRequestStatus.PENDING

    if allowed:
        await change_stop_request(request, target, actor_id=None)
        assert (await ScheduleStopRequest.get(id=request.id)).status is target
    else:
        with pytest.raises(InvalidTransition):
            await change_stop_request(request, target, actor_id=None)
