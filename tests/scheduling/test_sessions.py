"""Sessions (排班): creation with slots and release time, browsing, templates, 加号 and 停诊."""

from __future__ import annotations

from datetime import date, datetime

from tortoise import connections

from gualema.settings import get_settings
from models import jobs
from models.booking import Booking, BookingStatus
from models.notifications import Notification
from models.reactions import change_booking
from models.scheduling import CapacityChange, Schedule, Slot
from tests import factories
from tests.booking.operations import book, first_slot
from tests.fixtures.api import GraphQLClient

CREATE = """
mutation($input: CreateScheduleInput!) {
  createSchedule(input: $input) {
    __typename
    ... on Schedule {
      id period capacity fee releaseAt startsAt status slots { id start end capacity remaining }
    }
    ... on InvalidInputError { field message }
  }
}"""

SCHEDULES = """
query($dept: ID, $from: Date!, $to: Date!) {
  schedules(departmentId: $dept, dateFrom: $from, dateTo: $to) {
    id remaining slots { id capacity remaining }
  }
}"""


async def _catalogue() -> dict[str, str]:
    doc, _ = await factories.doctor()
    reg = await factories.registration_type(fee=500)
    return {"doctorId": str(doc.id), "registrationTypeId": str(reg.id), "roomId": str(doc.room_id)}


async def test_an_admin_creates_a_session_split_into_slots_released_by_the_default_rule(
    gql: GraphQLClient,
) -> None:
    admin = await factories.admin_user()
    ids = await _catalogue()
    day = date(2030, 3, 12)

    data = await gql.as_(admin.token).data(
        CREATE,
        {
            "input": {
                **ids,
                "date": "2030-03-12",
                "startTime": "08:00:00",
                "endTime": "10:00:00",
                "slotMinutes": 30,
                "capacity": 10,
            }
        },
    )

    created = data["createSchedule"]
    assert (created["period"], created["capacity"], created["fee"], created["status"]) == (
        "MORNING",
        10,
        500,
        "OPEN",
    )
    assert [
        (s["start"][11:16], s["end"][11:16], s["capacity"], s["remaining"]) for s in created["slots"]
    ] == [
        ("08:00", "08:30", 3, 3),
        ("08:30", "09:00", 3, 3),
        ("09:00", "09:30", 2, 2),
        ("09:30", "10:00", 2, 2),
    ]
    settings = get_settings()
    expected_release = datetime(2030, 3, 5, settings.release_hour, tzinfo=settings.tz)
    assert datetime.fromisoformat(created["releaseAt"]) == expected_release
    assert created["startsAt"].startswith(day.isoformat() + "T08:00:00")


async def test_invalid_sessions_name_the_field(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    ids = await _catalogue()
    base = {**ids, "date": "2030-03-12", "startTime": "08:00:00", "slotMinutes": 30, "capacity": 10}

    backwards = await gql.as_(admin.token).data(CREATE, {"input": {**base, "endTime": "07:00:00"}})
    late_release = await gql.as_(admin.token).data(
        CREATE, {"input": {**base, "endTime": "09:00:00", "releaseAt": "2030-03-12T09:00:00+08:00"}}
    )

    assert backwards["createSchedule"] == {
        "__typename": "InvalidInputError",
        "field": "endTime",
        "message": "a session ends after it starts",
    }
    assert late_release["createSchedule"]["field"] == "releaseAt"


async def test_browsing_shows_live_counts_with_a_constant_number_of_queries(gql: GraphQLClient) -> None:
    dept = await factories.department()
    doctors = [(await factories.doctor(dept))[0] for _ in range(3)]
    sessions = [await factories.session(capacity=6, slot_count=3, doctor_row=d) for d in doctors]
    student = await factories.patient_user()
    await book(
        gql, student.token, (await first_slot(sessions[0].id)).id, (await factories.patient(student)).id
    )
    day = sessions[0].date.isoformat()

    queries: list[str] = []
    connection = connections.get("default")
    original = connection.execute_query

    async def counting(query: str, values: list[object] | None = None) -> object:
        queries.append(query)
        return await original(query, values)

    connection.execute_query = counting
    try:
        data = await gql.data(SCHEDULES, {"dept": str(dept.id), "from": day, "to": day})
    finally:
        connection.execute_query = original

    assert [s["remaining"] for s in data["schedules"]] == [5, 6, 6]
    assert [slot["remaining"] for slot in data["schedules"][0]["slots"]] == [1, 2, 2]
    assert len(queries) == 2  # the sessions, then every slot of them at once


async def test_weekly_templates_generate_sessions_idempotently(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    ids = await _catalogue()
    template_input = {**ids, "startTime": "13:30:00", "endTime": "17:30:00", "slotMinutes": 60, "capacity": 8}
    for weekday in (0, 3):  # Monday and Thursday
        await gql.as_(admin.token).data(
            "mutation($i: CreateWeeklyTemplateInput!) { createWeeklyTemplate(input: $i) { __typename } }",
            {"i": {**template_input, "weekday": weekday}},
        )
    generate = """mutation {
      generateSchedules(input: {weeks: 2}) { ... on GeneratedSchedules { created { date period } } }
    }"""

    first = await gql.as_(admin.token).data(generate)
    again = await gql.as_(admin.token).data(generate)

    created = first["generateSchedules"]["created"]
    assert len(created) == 4
    assert {date.fromisoformat(s["date"]).weekday() for s in created} == {0, 3}
    assert {s["period"] for s in created} == {"AFTERNOON"}
    assert again["generateSchedules"]["created"] == []
    assert await Schedule.all().count() == 4


async def test_adding_capacity_records_who_and_why_and_offers_the_seats(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    session = await factories.session(capacity=2, slot_count=2)
    last = await Slot.filter(schedule_id=session.id).order_by("-starts_at").first()
    assert last is not None

    data = await gql.as_(admin.token).data(
        "mutation($i: AddCapacityInput!) { addCapacity(input: $i) { ... on Slot { id capacity remaining } } }",  # noqa: E501
        {"i": {"scheduleId": str(session.id), "added": 3, "reason": "加号: 复诊患者"}},
    )

    assert data["addCapacity"] == {"id": str(last.id), "capacity": 4, "remaining": 4}
    change = await CapacityChange.get(schedule_id=session.id)
    assert (change.added, change.actor_id, change.reason, change.slot_id) == (
        3,
        admin.id,
        "加号: 复诊患者",
        last.id,
    )
    assert (await Schedule.get(id=session.id)).capacity == 5
    assert await jobs.Job.filter(kind="seat.freed").count() == 3


async def test_stopping_a_session_cancels_refunds_and_notifies_everyone(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    session = await factories.session(capacity=3, fee=1000)
    slot = await first_slot(session.id)
    students = [await factories.patient_user() for _ in range(3)]
    booked = [await book(gql, s.token, slot.id, (await factories.patient(s)).id) for s in students[:2]]

    paid = await Booking.get(id=int(booked[0]["id"]))
    await change_booking(paid, BookingStatus.CONFIRMED, actor_id=None, reason="paid")

    data = await gql.as_(admin.token).data(
        "mutation($i: StopScheduleInput!) { stopSchedule(input: $i) { ... on Schedule { status stopReason } } }",  # noqa: E501
        {"i": {"scheduleId": str(session.id), "reason": "医生出差"}},
    )
    late = await book(gql, students[2].token, slot.id, (await factories.patient(students[2])).id)

    assert data["stopSchedule"] == {"status": "STOPPED", "stopReason": "医生出差"}
    statuses = (
        await Booking.filter(schedule_id=session.id).order_by("id").values_list("status", "cancel_reason")
    )
    assert statuses == [(BookingStatus.CANCELLED, "停诊: 医生出差")] * 2
    assert [j.payload for j in await jobs.Job.filter(kind="payment.refund")] == [
        {"booking_id": paid.id, "reason": "停诊: 医生出差"}
    ]
    assert [j.payload["booking_id"] for j in await jobs.Job.filter(kind="payment.close")] == [
        int(booked[1]["id"])
    ]
    assert await jobs.Job.filter(kind="seat.freed").count() == 0  # nothing to offer in a stopped session
    # Only the paid booking is promised a refund; the unpaid one is told its booking is cancelled.
    assert await Notification.filter(event="schedule.stopped").values_list("account_id", flat=True) == [
        paid.account_id
    ]
    assert await Notification.filter(event="schedule.stopped_unpaid").values_list(
        "account_id", flat=True
    ) == [students[1].id]
    stopped_texts = await Notification.filter(event__startswith="schedule.stopped").values_list(
        "body", flat=True
    )
    assert sorted("退回" in text for text in stopped_texts) == [False, True]
    assert late["__typename"] == "BookingClosed"


async def test_only_admins_manage_sessions(gql: GraphQLClient) -> None:
    student = await factories.patient_user()
    ids = await _catalogue()
    body = await gql.as_(student.token)(
        CREATE, {"input": {**ids, "date": "2030-03-12", "startTime": "08:00:00", "endTime": "09:00:00"}}
    )
    assert body["errors"][0]["message"] == "only an administrator may do this"


async def test_a_stopped_session_reports_no_seats_remaining(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    session = await factories.session(capacity=4, slot_count=2)
    await gql.as_(admin.token).data(
        "mutation($i: StopScheduleInput!) { stopSchedule(input: $i) { __typename } }",
        {"i": {"scheduleId": str(session.id), "reason": "医生出差"}},
    )

    data = await gql.data(
        "query($id: ID!) { schedule(id: $id) { remaining slots { remaining deskRemaining } } }",
        {"id": str(session.id)},
    )

    assert data["schedule"] == {
        "remaining": 0,
        "slots": [{"remaining": 0, "deskRemaining": 0}, {"remaining": 0, "deskRemaining": 0}],
    }
