"""Records: a patient's bookings, a doctor's session list, the admin's filtered view; cursor pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests import factories
from tests.booking.operations import CANCEL, book, first_slot
from tests.fixtures.api import GraphQLClient

MY_BOOKINGS = """
query($filter: BookingFilterInput, $first: Int!, $after: String) {
  myBookings(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id status visitDate } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def test_a_patient_pages_through_their_own_bookings_filtered_by_status_and_date(
    gql: GraphQLClient,
) -> None:
    student, neighbour = await factories.patient_user(), await factories.patient_user()
    me = await factories.patient(student)
    ids = []
    for days in (1, 2, 3):
        session = await factories.session(starts_in=timedelta(days=days))
        ids.append((await book(gql, student.token, (await first_slot(session.id)).id, me.id))["id"])
    other = await factories.session()
    await book(gql, neighbour.token, (await first_slot(other.id)).id, (await factories.patient(neighbour)).id)
    await gql.as_(student.token).data(CANCEL, {"input": {"bookingId": ids[0]}})
    mine = gql.as_(student.token)

    page1 = (await mine.data(MY_BOOKINGS, {"first": 2}))["myBookings"]
    page2 = (await mine.data(MY_BOOKINGS, {"first": 2, "after": page1["pageInfo"]["endCursor"]}))[
        "myBookings"
    ]
    confirmed = (await mine.data(MY_BOOKINGS, {"first": 10, "filter": {"statuses": ["CONFIRMED"]}}))[
        "myBookings"
    ]
    day3 = (await factories.session(starts_in=timedelta(days=3))).date.isoformat()
    by_date = (await mine.data(MY_BOOKINGS, {"first": 10, "filter": {"dateFrom": day3, "dateTo": day3}}))[
        "myBookings"
    ]
    bad_cursor = await mine(MY_BOOKINGS, {"first": 2, "after": "nonsense"})

    assert [e["node"]["id"] for e in page1["edges"]] == [ids[2], ids[1]]
    assert page1["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["id"] for e in page2["edges"]] == [ids[0]]
    assert page2["pageInfo"]["hasNextPage"] is False
    assert [e["node"]["id"] for e in confirmed["edges"]] == [ids[2], ids[1]]
    assert [e["node"]["id"] for e in by_date["edges"]] == [ids[2]]
    assert bad_cursor["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_a_doctor_sees_the_bookings_of_own_sessions_in_queue_order_only(gql: GraphQLClient) -> None:
    doc, doctor_login = await factories.doctor()
    _, other_doctor = await factories.doctor()
    session = await factories.session(capacity=5, doctor_row=doc)
    slot = await first_slot(session.id)
    for _ in range(3):
        student = await factories.patient_user(name="王小明")
        await book(gql, student.token, slot.id, (await factories.patient(student)).id)
    query = "query($id: ID!) { sessionBookings(scheduleId: $id) { queueNumber patient { name idNumber } } }"

    own = await gql.as_(doctor_login.token).data(query, {"id": str(session.id)})
    foreign = await gql.as_(other_doctor.token)(query, {"id": str(session.id)})

    assert [b["queueNumber"] for b in own["sessionBookings"]] == [1, 2, 3]
    assert own["sessionBookings"][0]["patient"]["name"] == "王小明"
    assert "*" in own["sessionBookings"][0]["patient"]["idNumber"]
    assert foreign["data"] is None


async def test_an_admin_filters_all_bookings_by_department_and_status(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    sessions = [await factories.session(fee=fee) for fee in (0, 800)]
    for session in sessions:
        student = await factories.patient_user()
        await book(
            gql, student.token, (await first_slot(session.id)).id, (await factories.patient(student)).id
        )
    query = """query($f: BookingFilterInput) {
      bookings(filter: $f, first: 10) { edges { node { status departmentId } } } }"""

    everything = await gql.as_(admin.token).data(query, {"f": None})
    pending = await gql.as_(admin.token).data(query, {"f": {"statuses": ["PENDING_PAYMENT"]}})
    first_department = await gql.as_(admin.token).data(
        query,
        {"f": {"departmentId": str(sessions[0].department_id)}},
    )
    by_patient = await gql.as_((await factories.patient_user()).token)(query, {"f": None})

    def nodes(data: dict[str, Any]) -> list[dict[str, Any]]:
        return [edge["node"] for edge in data["bookings"]["edges"]]

    assert len(nodes(everything)) == 2
    assert nodes(pending) == [{"status": "PENDING_PAYMENT", "departmentId": str(sessions[1].department_id)}]
    assert nodes(first_department) == [
        {"status": "CONFIRMED", "departmentId": str(sessions[0].department_id)}
    ]
    assert by_patient["errors"][0]["message"] == "only an administrator may do this"
