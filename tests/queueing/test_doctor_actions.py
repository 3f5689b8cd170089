"""叫号 and what follows: call, recall, skip and restore, consultation, transfer, 回诊, priority."""

from __future__ import annotations

import asyncio

from models.booking import Booking, BookingStatus
from models.catalogue import Room
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.queueing.conftest import (
    CALL_NEXT,
    CHECK_IN,
    TICKET_FIELDS,
    Clinic,
    arrive,
    place_code,
    ticket_mutation,
)

PRIORITY = f"""
mutation($ticketId: ID!) {{
  setQueuePriority(ticketId: $ticketId, reason: ELDERLY, note: "82 岁") {{ {TICKET_FIELDS} }}
}}"""
TRANSFER = f"""
mutation($ticketId: ID!, $roomId: ID!) {{
  transfer(ticketId: $ticketId, roomId: $roomId) {{ {TICKET_FIELDS} }}
}}"""


async def test_the_doctor_calls_patients_in_booked_order_and_the_booking_follows_the_consultation(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    second = await arrive(gql, clinic, number=2)
    first = await arrive(gql, clinic, number=1)
    doctor = gql.as_(clinic.doctor_login.token)

    called = (await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)}))["callNext"]
    assert (called["label"], called["state"], called["callCount"]) == ("A001", "CALLED", 1)

    recalled = (await doctor.data(ticket_mutation("recall"), {"ticketId": first.ticket_id}))["recall"]
    started = await doctor.data(ticket_mutation("startConsultation"), {"ticketId": first.ticket_id})
    assert recalled["callCount"] == 2
    assert started["startConsultation"]["state"] == "IN_CONSULTATION"
    assert (await Booking.get(id=first.booking.id)).status is BookingStatus.IN_CONSULTATION

    done = await doctor.data(ticket_mutation("completeConsultation"), {"ticketId": first.ticket_id})
    again = await doctor.data(ticket_mutation("completeConsultation"), {"ticketId": first.ticket_id})
    assert done["completeConsultation"]["state"] == "DONE"
    assert again["completeConsultation"] == {
        "__typename": "InvalidStatusTransition",
        "message": "ticket cannot go from done to done",
    }
    assert (await Booking.get(id=first.booking.id)).status is BookingStatus.COMPLETED

    nxt = (await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)}))["callNext"]
    empty = (await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)}))["callNext"]
    assert nxt["id"] == second.ticket_id
    assert empty == {"__typename": "NothingToCallError", "message": "nobody is waiting in this room"}


async def test_a_skipped_patient_is_restored_behind_three_others(gql: GraphQLClient, clinic: Clinic) -> None:
    missing = await arrive(gql, clinic, number=1)
    for number in range(2, 7):
        await arrive(gql, clinic, number=number)
    doctor = gql.as_(clinic.doctor_login.token)

    await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)})
    skipped = await doctor.data(ticket_mutation("skip"), {"ticketId": missing.ticket_id})
    restored = await doctor.data(ticket_mutation("restore"), {"ticketId": missing.ticket_id})

    assert skipped["skip"]["state"] == "SKIPPED"
    assert restored["restore"]["state"] == "WAITING"
    order = [
        (await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)}))["callNext"]["label"] for _ in range(6)
    ]
    assert order == ["A002", "A003", "A004", "A001", "A005", "A006"]


async def test_a_patient_back_from_tests_checks_in_again_and_reenters_behind_two(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    back = await arrive(gql, clinic, number=1)
    for number in range(2, 6):
        await arrive(gql, clinic, number=number)
    doctor = gql.as_(clinic.doctor_login.token)
    await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)})
    await doctor.data(ticket_mutation("startConsultation"), {"ticketId": back.ticket_id})

    again = await gql.as_(back.owner.token).data(
        CHECK_IN, {"bookingId": str(back.booking.id), "code": clinic.room_code()}
    )

    assert (again["checkIn"]["state"], again["checkIn"]["returned"]) == ("WAITING", True)
    assert (await Booking.get(id=back.booking.id)).status is BookingStatus.CHECKED_IN
    order = [
        (await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)}))["callNext"]["label"] for _ in range(5)
    ]
    assert order == ["A002", "A003", "A001", "A004", "A005"]


async def test_staff_give_priority_to_an_elderly_patient(gql: GraphQLClient, clinic: Clinic) -> None:
    await arrive(gql, clinic, number=1)
    elderly = await arrive(gql, clinic, number=9)
    doctor = gql.as_(clinic.doctor_login.token)

    await doctor.data(PRIORITY, {"ticketId": elderly.ticket_id})

    called = await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)})
    assert called["callNext"]["label"] == "A009"


async def test_a_transferred_patient_leaves_this_queue_and_waits_near_the_front_of_the_other(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    moved = await arrive(gql, clinic, number=1)
    other_doctor, other_login = await factories.doctor()
    other_schedule = await factories.clinic_today(other_doctor)
    for number in (1, 2, 3):
        owner = await factories.patient_user()
        booking = await factories.confirmed_booking(other_schedule, owner, number=number)
        assert other_doctor.room_id is not None
        await gql.as_(owner.token).data(
            CHECK_IN, {"bookingId": str(booking.id), "code": place_code("room", other_doctor.room_id)}
        )
    doctor = gql.as_(clinic.doctor_login.token)

    result = await doctor.data(TRANSFER, {"ticketId": moved.ticket_id, "roomId": str(other_doctor.room_id)})

    assert (result["transfer"]["state"], result["transfer"]["label"]) == ("WAITING", "A001")
    assert (await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)}))["callNext"]["__typename"] == (
        "NothingToCallError"
    )
    other = gql.as_(other_login.token)
    order = [
        (await other.data(CALL_NEXT, {"roomId": str(other_doctor.room_id)}))["callNext"]["id"]
        for _ in range(4)
    ]
    assert order.index(result["transfer"]["id"]) == 2


async def test_a_doctor_of_another_room_cannot_call_this_rooms_patients(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    await arrive(gql, clinic)
    _, outsider = await factories.doctor()

    data = await gql.as_(outsider.token).data(CALL_NEXT, {"roomId": str(clinic.room_id)})

    assert data["callNext"] == {
        "__typename": "NotAllowedError",
        "message": "you do not work in this room today",
    }


async def test_two_doctors_sharing_a_queue_never_call_the_same_patient(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    # Given a second doctor in the same room and eight patients waiting
    colleague, colleague_login = await factories.doctor(room=await _room(clinic))
    assert colleague.room_id == clinic.room_id
    for number in range(1, 9):
        await arrive(gql, clinic, number=number)
    doctors = [gql.as_(clinic.doctor_login.token), gql.as_(colleague_login.token)]

    # When both press "call next" six times at once
    results = await asyncio.gather(
        *(doctors[i % 2].data(CALL_NEXT, {"roomId": str(clinic.room_id)}) for i in range(12))
    )

    # Then each patient is called exactly once and the rest find the queue empty
    outcomes = [r["callNext"] for r in results]
    called = sorted(o["label"] for o in outcomes if o["__typename"] == "QueueTicket")
    assert called == [f"A{n:03d}" for n in range(1, 9)]
    assert [o["__typename"] for o in outcomes].count("NothingToCallError") == 4


async def _room(clinic: Clinic) -> object:
    return await Room.get(id=clinic.room_id)
