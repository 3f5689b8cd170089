"""bookings(filter: {departmentId}) of a clinical department includes its sub-departments'."""

from __future__ import annotations

from models.booking.placement import BookingPolicy, BookingRequest, place_booking
from models.catalogue import Department
from models.scheduling import Slot
from tests import factories
from tests.fixtures.api import GraphQLClient

BOOKINGS = """
query($departmentId: ID) {
  bookings(filter: {departmentId: $departmentId}) { edges { node { id departmentId } } }
}"""


async def test_a_parent_department_filter_includes_its_sub_departments(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    session = await factories.session(capacity=2)
    sub = await Department.get(id=session.department_id)
    parent = await factories.department()
    await Department.filter(id=sub.id).update(parent_id=parent.id)
    holder = await factories.patient_user()
    slot = await Slot.get(schedule_id=session.id)
    request = BookingRequest(holder.id, slot.id, (await factories.patient(holder)).id, "by-department-1")
    booking = (
        await place_booking(request, BookingPolicy(hold_minutes=15, max_per_account_per_day=3))
    ).booking

    by_parent = await gql.as_(admin.token).data(BOOKINGS, {"departmentId": str(parent.id)})
    by_sub = await gql.as_(admin.token).data(BOOKINGS, {"departmentId": str(sub.id)})

    assert [e["node"]["id"] for e in by_parent["bookings"]["edges"]] == [str(booking.id)]
    assert [e["node"]["id"] for e in by_sub["bookings"]["edges"]] == [str(booking.id)]
