"""签到: by scanning the room's or department's signed code, or at the desk, within the window."""

from __future__ import annotations

from datetime import timedelta

from models.booking import Booking, BookingStatus
from models.catalogue import Department, Doctor
from models.queueing import QueueTicket
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.queueing.conftest import CHECK_IN, Clinic, arrive, place_code

CHECK_IN_BY_STAFF = """
mutation($bookingId: ID!) {
  checkInByStaff(bookingId: $bookingId) {
    __typename
    ... on QueueTicket { label state }
    ... on Error { message }
  }
}"""


async def test_a_patient_scans_the_room_code_and_enters_the_queue_with_a_readable_label(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    owner = await factories.patient_user(name="张小三")
    booking = await factories.confirmed_booking(clinic.schedule, owner, number=12)

    data = await gql.as_(owner.token).data(
        CHECK_IN, {"bookingId": str(booking.id), "code": clinic.room_code()}
    )

    ticket = data["checkIn"]
    assert ticket["__typename"] == "QueueTicket"
    assert (ticket["label"], ticket["state"], ticket["late"], ticket["patientName"]) == (
        "A012",
        "WAITING",
        False,
        "张*三",
    )
    assert (await Booking.get(id=booking.id)).status is BookingStatus.CHECKED_IN


async def test_the_department_code_checks_in_too(gql: GraphQLClient, clinic: Clinic) -> None:
    owner = await factories.patient_user()
    booking = await factories.confirmed_booking(clinic.schedule, owner)
    code = place_code("department", clinic.department_id)

    data = await gql.as_(owner.token).data(CHECK_IN, {"bookingId": str(booking.id), "code": code})

    assert data["checkIn"]["__typename"] == "QueueTicket"


async def test_another_rooms_code_a_forged_code_and_a_second_scan_are_refused(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    owner = await factories.patient_user()
    booking = await factories.confirmed_booking(clinic.schedule, owner)
    other_room = await factories.room()
    forged = clinic.room_code()[:-2] + "xx"
    as_patient = gql.as_(owner.token)

    async def check_in(code: str) -> str:
        data = await as_patient.data(CHECK_IN, {"bookingId": str(booking.id), "code": code})
        return str(data["checkIn"]["__typename"])

    assert await check_in(place_code("room", other_room.id)) == "WrongCheckInPlaceError"
    assert await check_in(forged) == "InvalidCheckInCodeError"
    assert await check_in("not a code") == "InvalidCheckInCodeError"
    assert await check_in(clinic.room_code()) == "QueueTicket"
    assert await check_in(clinic.room_code()) == "AlreadyCheckedInError"


async def test_check_in_opens_an_hour_before_the_slot(gql: GraphQLClient, clinic: Clinic) -> None:
    owner = await factories.patient_user()
    booking = await factories.confirmed_booking(clinic.schedule, owner, slot_starts_in=timedelta(minutes=90))

    data = await gql.as_(owner.token).data(
        CHECK_IN, {"bookingId": str(booking.id), "code": clinic.room_code()}
    )

    assert data["checkIn"]["__typename"] == "CheckInNotOpenError"


async def test_arriving_after_the_slot_ended_checks_in_as_late(gql: GraphQLClient, clinic: Clinic) -> None:
    late = await arrive(gql, clinic, slot_starts_in=timedelta(minutes=-90), slot_minutes=30)
    ticket = await gql.as_(late.owner.token).data(
        CHECK_IN, {"bookingId": str(late.booking.id), "code": clinic.room_code()}
    )
    assert ticket["checkIn"]["__typename"] == "AlreadyCheckedInError"

    assert (await QueueTicket.get(id=int(late.ticket_id))).late is True


async def test_check_in_closes_two_hours_after_the_slot(gql: GraphQLClient, clinic: Clinic) -> None:
    owner = await factories.patient_user()
    booking = await factories.confirmed_booking(
        clinic.schedule, owner, slot_starts_in=timedelta(minutes=-200), slot_minutes=30
    )

    data = await gql.as_(owner.token).data(
        CHECK_IN, {"bookingId": str(booking.id), "code": clinic.room_code()}
    )

    assert data["checkIn"]["__typename"] == "CheckInClosedError"


async def test_a_patient_cannot_check_in_someone_elses_booking(gql: GraphQLClient, clinic: Clinic) -> None:
    booking = await factories.confirmed_booking(clinic.schedule)
    stranger = await factories.patient_user()

    data = await gql.as_(stranger.token).data(
        CHECK_IN, {"bookingId": str(booking.id), "code": clinic.room_code()}
    )

    assert data["checkIn"] == {"__typename": "NotFoundError", "message": "no such booking"}
    assert (await Booking.get(id=booking.id)).status is BookingStatus.CONFIRMED


async def test_staff_check_a_patient_in_at_the_desk_and_patients_may_not(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    owner = await factories.patient_user()
    booking = await factories.confirmed_booking(clinic.schedule, owner, number=3)

    refused = await gql.as_(owner.token)(CHECK_IN_BY_STAFF, {"bookingId": str(booking.id)})
    data = await gql.as_(clinic.doctor_login.token).data(CHECK_IN_BY_STAFF, {"bookingId": str(booking.id)})

    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert data["checkInByStaff"] == {"__typename": "QueueTicket", "label": "A003", "state": "WAITING"}


async def test_two_sessions_of_one_department_on_one_day_never_share_a_ticket_label(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    colleague, _ = await factories.doctor(await Department.get(id=clinic.department_id))
    await Doctor.filter(id=colleague.id).update(room_id=clinic.room_id)
    afternoon = await factories.clinic_today(await Doctor.get(id=colleague.id))
    morning_patient = await arrive(gql, clinic, number=1)
    owner = await factories.patient_user()
    row = await factories.confirmed_booking(afternoon, owner, number=1)
    data = await gql.as_(owner.token).data(CHECK_IN, {"bookingId": str(row.id), "code": clinic.room_code()})

    assert morning_patient.label == "A001"
    assert data["checkIn"]["label"] == "A2-001"


async def test_a_doctor_of_another_room_cannot_check_in_this_rooms_patient(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    # Given a doctor who serves another room of the same department, and an administrator at a desk
    owner = await factories.patient_user()
    booking = await factories.confirmed_booking(clinic.schedule, owner, number=4)
    _, other_login = await factories.doctor(await factories.department())
    admin = await factories.admin_user()

    # When the other room's doctor checks the patient in, then the booking is not theirs to see
    refused = await gql.as_(other_login.token).data(CHECK_IN_BY_STAFF, {"bookingId": str(booking.id)})
    assert refused["checkInByStaff"]["__typename"] == "NotFoundError"
    assert (await Booking.get(id=booking.id)).status is BookingStatus.CONFIRMED

    # and the administrator's desk can
    data = await gql.as_(admin.token).data(CHECK_IN_BY_STAFF, {"bookingId": str(booking.id)})
    assert data["checkInByStaff"]["__typename"] == "QueueTicket"
