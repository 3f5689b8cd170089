"""Changing a session: 替诊 with patients told, times and capacity that never strand a booking,
closing a slot, deleting an unbooked session; no overlaps and nothing in the past; templates."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from gualema.settings import get_settings
from models.audit import AuditEntry
from models.booking import Booking, BookingStatus
from models.notifications import Notification
from models.scheduling import Schedule, Slot, WeeklyTemplate
from tests import factories
from tests.booking.operations import book, first_slot
from tests.fixtures.api import GraphQLClient

UPDATE = """
mutation($input: UpdateScheduleInput!) {
  updateSchedule(input: $input) {
    __typename
    ... on Schedule { id doctorId roomId capacity startsAt endsAt slots { start capacity remaining } }
    ... on Error { message }
    ... on SessionOverlaps { what scheduleId }
    ... on BookingsOutsideNewTimes { bookingIds }
    ... on CapacityBelowBooked { booked }
  }
}"""
CREATE = """
mutation($input: CreateScheduleInput!) {
  createSchedule(input: $input) { __typename ... on Error { message } ... on SessionOverlaps { what } }
}"""


def _local(moment: Any) -> Any:
    return moment.astimezone(get_settings().tz)


async def _booked_session(
    gql: GraphQLClient, capacity: int = 4, slot_count: int = 2
) -> tuple[Any, dict[str, Any]]:
    session = await factories.session(capacity=capacity, slot_count=slot_count, starts_in=timedelta(days=2))
    student = await factories.patient_user()
    patient = await factories.patient(student)
    return session, await book(gql, student.token, (await first_slot(session.id)).id, patient.id)


async def test_a_substitute_doctor_keeps_the_bookings_and_the_patients_are_told_his_name(
    gql: GraphQLClient,
) -> None:
    admin = await factories.admin_user()
    session, booked = await _booked_session(gql)
    substitute, _ = await factories.doctor(name="王替诊")

    data = await gql.as_(admin.token).data(
        UPDATE,
        {"input": {"scheduleId": str(session.id), "doctorId": str(substitute.id), "reason": "李医生病假"}},
    )

    assert data["updateSchedule"]["doctorId"] == str(substitute.id)
    assert (await Booking.get(id=int(booked["id"]))).status is BookingStatus.CONFIRMED
    told = await Notification.get(event="schedule.substituted", booking_id=int(booked["id"]))
    assert "王替诊" in told.body
    entry = await AuditEntry.get(action="schedule.update")
    assert (entry.actor_id, entry.reason) == (admin.id, "李医生病假")


async def test_times_change_only_when_no_booking_falls_outside_and_empty_sessions_are_recut(
    gql: GraphQLClient,
) -> None:
    admin = await factories.admin_user()
    session, booked = await _booked_session(gql)
    start = _local(session.starts_at)
    later = (start + timedelta(hours=3)).time().isoformat()
    empty = await factories.session(capacity=4, slot_count=2, starts_in=timedelta(days=3))
    empty_start = _local(empty.starts_at)

    refused = await gql.as_(admin.token).data(
        UPDATE, {"input": {"scheduleId": str(session.id), "startTime": later, "reason": "晚开诊"}}
    )
    recut = await gql.as_(admin.token).data(
        UPDATE,
        {
            "input": {
                "scheduleId": str(empty.id),
                "startTime": empty_start.time().isoformat(),
                "endTime": (empty_start + timedelta(hours=1)).time().isoformat(),
                "reason": "缩短",
            }
        },
    )

    assert refused["updateSchedule"] == {
        "__typename": "BookingsOutsideNewTimes",
        "message": f"bookings {booked['id']} fall outside the new times",
        "bookingIds": [booked["id"]],
    }
    assert (await Schedule.get(id=session.id)).starts_at == session.starts_at
    slots = recut["updateSchedule"]["slots"]
    assert [s["capacity"] for s in slots] == [4]  # one hour holds one of its 120-minute slots now
    assert await Slot.filter(schedule_id=empty.id).count() == len(slots)


async def test_capacity_never_goes_below_what_is_booked(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    session, _ = await _booked_session(gql, capacity=4, slot_count=1)

    below = await gql.as_(admin.token).data(
        UPDATE, {"input": {"scheduleId": str(session.id), "capacity": 0, "reason": "x"}}
    )
    fewer = await gql.as_(admin.token).data(
        UPDATE, {"input": {"scheduleId": str(session.id), "capacity": 1, "reason": "减号"}}
    )

    assert below["updateSchedule"]["__typename"] == "InvalidInputError"
    assert fewer["updateSchedule"]["capacity"] == 1
    assert fewer["updateSchedule"]["slots"] == [
        {"start": fewer["updateSchedule"]["slots"][0]["start"], "capacity": 1, "remaining": 0}
    ]
    two = await gql.as_(admin.token).data(
        UPDATE, {"input": {"scheduleId": str(session.id), "capacity": 3, "reason": "加回"}}
    )
    assert "slots" in two["updateSchedule"], two
    assert two["updateSchedule"]["slots"][0]["remaining"] == 2


async def test_a_doctor_or_a_room_cannot_hold_two_overlapping_sessions_and_nothing_starts_in_the_past(
    gql: GraphQLClient,
) -> None:
    admin = await factories.admin_user()
    session = await factories.session(capacity=4, starts_in=timedelta(days=2))
    start = _local(session.starts_at)
    other_doctor, _ = await factories.doctor()
    reg = await factories.registration_type(fee=0)
    base = {
        "registrationTypeId": str(reg.id),
        "date": start.date().isoformat(),
        "startTime": (start + timedelta(hours=1)).time().isoformat(),
        "endTime": (start + timedelta(hours=2)).time().isoformat(),
    }
    same_doctor = {**base, "doctorId": str(session.doctor_id), "roomId": str(other_doctor.room_id)}
    same_room = {**base, "doctorId": str(other_doctor.id), "roomId": str(session.room_id)}
    yesterday = _local(session.starts_at - timedelta(days=3))
    past = {
        **base,
        "doctorId": str(other_doctor.id),
        "roomId": str(other_doctor.room_id),
        "date": yesterday.date().isoformat(),
    }

    answers = [
        (await gql.as_(admin.token).data(CREATE, {"input": values}))["createSchedule"]
        for values in (same_doctor, same_room, past)
    ]

    assert [(a["__typename"], a.get("what")) for a in answers] == [
        ("SessionOverlaps", "doctor"),
        ("SessionOverlaps", "room"),
        ("SessionInThePast", None),
    ]
    assert await Schedule.all().count() == 1


async def test_a_slot_closes_and_only_an_unbooked_session_can_be_deleted(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    booked_session, _ = await _booked_session(gql)
    empty = await factories.session(capacity=2, starts_in=timedelta(days=4))
    slot = await first_slot(empty.id)
    doc = gql.as_(admin.token)

    closed = await doc.data(
        'mutation($id: ID!) { closeSlot(slotId: $id, reason: "设备检修") '
        "{ ... on Slot { bookable remaining } } }",
        {"id": str(slot.id)},
    )
    delete = "mutation($id: ID!) { deleteSchedule(scheduleId: $id) { __typename } }"
    refused = await doc.data(delete, {"id": str(booked_session.id)})
    deleted = await doc.data(delete, {"id": str(empty.id)})

    assert closed["closeSlot"] == {"bookable": False, "remaining": 0}
    assert refused["deleteSchedule"]["__typename"] == "SessionHasBookings"
    assert deleted["deleteSchedule"]["__typename"] == "DeletedSchedule"
    assert not await Schedule.filter(id=empty.id).exists()


async def test_templates_are_listed_and_deleted_with_audit_entries(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    doc, _ = await factories.doctor()
    reg = await factories.registration_type(fee=0)
    template_input = {
        "doctorId": str(doc.id),
        "registrationTypeId": str(reg.id),
        "roomId": str(doc.room_id),
        "weekday": 2,
        "startTime": "08:00:00",
        "endTime": "12:00:00",
    }
    made = await gql.as_(admin.token).data(
        "mutation($i: CreateWeeklyTemplateInput!) "
        "{ createWeeklyTemplate(input: $i) { ... on WeeklyTemplate { id } } }",
        {"i": template_input},
    )
    template_id = made["createWeeklyTemplate"]["id"]

    listed = await gql.as_(admin.token).data("{ weeklyTemplates { id weekday } }")
    await gql.as_(admin.token).data(
        "mutation($id: ID!) { deleteWeeklyTemplate(templateId: $id) { __typename } }", {"id": template_id}
    )
    after = await gql.as_(admin.token).data("{ weeklyTemplates { id } }")

    assert listed["weeklyTemplates"] == [{"id": template_id, "weekday": 2}]
    assert after["weeklyTemplates"] == []
    assert not (await WeeklyTemplate.get(id=int(template_id))).active
    actions = await AuditEntry.filter(target_type="weekly_template").values_list("action", flat=True)
    assert sorted(actions) == ["template.create", "template.delete"]


async def test_two_administrators_creating_clashing_sessions_at_once_make_one(gql: GraphQLClient) -> None:
    first_admin = await factories.admin_user()
    second_admin = await factories.admin_user()
    doc, _ = await factories.doctor()
    reg = await factories.registration_type(fee=0)
    day = (datetime.now(get_settings().tz) + timedelta(days=5)).date().isoformat()

    def clash(room_id: int, start: str) -> dict[str, Any]:
        return {
            "input": {
                "doctorId": str(doc.id),
                "registrationTypeId": str(reg.id),
                "roomId": str(room_id),
                "date": day,
                "startTime": start,
                "endTime": "12:00:00",
            }
        }

    rooms = [await factories.room() for _ in range(4)]
    answers = await asyncio.gather(
        *(
            gql.as_(admin.token).data(CREATE, clash(room.id, f"0{8 + i % 2}:00:00"))
            for i, (admin, room) in enumerate(zip([first_admin, second_admin] * 2, rooms, strict=True))
        )
    )

    kinds = sorted(answer["createSchedule"]["__typename"] for answer in answers)
    assert kinds == ["Schedule", "SessionOverlaps", "SessionOverlaps", "SessionOverlaps"]
    assert await Schedule.filter(doctor_id=doc.id).count() == 1
