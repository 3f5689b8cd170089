"""bookSlot: each rule of the decision, one scenario each."""

from __future__ import annotations

from datetime import timedelta

from models.booking import Booking, BookingEvent, BookingStatus
from models.clock import utcnow
from models.scheduling import Slot
from tests import factories
from tests.booking.operations import book, first_slot
from tests.fixtures.api import GraphQLClient


async def test_a_free_registration_is_confirmed_at_once_with_the_first_number(gql: GraphQLClient) -> None:
    student = await factories.patient_user()
    me = await factories.patient(student)
    session = await factories.session(capacity=3, fee=0)
    slot = await first_slot(session.id)

    booked = await book(gql, student.token, slot.id, me.id)

    assert booked["__typename"] == "Booking"
    assert (booked["status"], booked["fhirStatus"], booked["queueNumber"], booked["fee"]) == (
        "CONFIRMED",
        "booked",
        1,
        0,
    )
    assert booked["expiresAt"] is None
    assert (await Slot.get(id=slot.id)).remaining == 2
    events = await BookingEvent.filter(booking_id=int(booked["id"])).values_list(
        "from_status", "to_status", "actor_id"
    )
    assert events == [(None, BookingStatus.CONFIRMED, student.id)]


async def test_a_paid_registration_holds_the_seat_pending_payment_until_expiry(gql: GraphQLClient) -> None:
    student = await factories.patient_user()
    me = await factories.patient(student)
    session = await factories.session(capacity=3, fee=1500)

    booked = await book(gql, student.token, (await first_slot(session.id)).id, me.id)

    assert (booked["status"], booked["fhirStatus"], booked["fee"]) == ("PENDING_PAYMENT", "pending", 1500)
    assert booked["expiresAt"] is not None


async def test_numbers_follow_the_time_slots_and_seats_booked_again_get_new_numbers(
    gql: GraphQLClient,
) -> None:
    session = await factories.session(capacity=4, slot_count=2)  # slot 1 holds numbers 1-2, slot 2 3-4
    slots = await Slot.filter(schedule_id=session.id).order_by("starts_at")
    students = [await factories.patient_user() for _ in range(4)]
    numbers = []
    for student, slot in zip(students, (slots[1], slots[0], slots[1], slots[0]), strict=True):
        numbers.append(
            (await book(gql, student.token, slot.id, (await factories.patient(student)).id))["queueNumber"]
        )
    cancelled = await Booking.get(queue_number=1, schedule_id=session.id)
    from models.booking import transition

    await transition(cancelled, BookingStatus.CANCELLED, actor_id=None, reason="test")
    latecomer = await factories.patient_user()
    again = await book(gql, latecomer.token, slots[0].id, (await factories.patient(latecomer)).id)

    assert numbers == [3, 1, 4, 2]
    assert again["queueNumber"] == 5  # never a number twice, even after a cancellation


async def test_before_the_release_time_the_slot_is_visible_but_not_bookable(gql: GraphQLClient) -> None:
    student = await factories.patient_user()
    me = await factories.patient(student)
    session = await factories.session(released=False)

    refused = await book(gql, student.token, (await first_slot(session.id)).id, me.id)

    assert refused["__typename"] == "NotYetReleased"
    assert refused["releaseAt"] is not None


async def test_a_started_session_is_closed_for_online_booking(gql: GraphQLClient) -> None:
    student = await factories.patient_user()
    me = await factories.patient(student)
    session = await factories.session(starts_in=timedelta(minutes=-5))

    refused = await book(gql, student.token, (await first_slot(session.id)).id, me.id)

    assert refused["__typename"] == "BookingClosed"


async def test_a_patient_of_another_account_is_not_found(gql: GraphQLClient) -> None:
    student, stranger = await factories.patient_user(), await factories.patient_user()
    their_patient = await factories.patient(stranger)
    session = await factories.session()

    refused = await book(gql, student.token, (await first_slot(session.id)).id, their_patient.id)

    assert refused == {"__typename": "PatientNotFound", "message": "no such patient on this account"}


async def test_a_full_slot_is_unavailable_and_nothing_is_written(gql: GraphQLClient) -> None:
    session = await factories.session(capacity=1)
    slot = await first_slot(session.id)
    first, second = await factories.patient_user(), await factories.patient_user()
    await book(gql, first.token, slot.id, (await factories.patient(first)).id)

    refused = await book(gql, second.token, slot.id, (await factories.patient(second)).id)

    assert refused["__typename"] == "SlotUnavailable"
    assert (await Slot.get(id=slot.id)).remaining == 0
    assert await Booking.all().count() == 1


async def test_one_active_booking_per_patient_per_session_and_per_department_per_day(
    gql: GraphQLClient,
) -> None:
    student = await factories.patient_user()
    me = await factories.patient(student)
    doc, _ = await factories.doctor()
    # Both sessions on one calendar day whatever the time the suite runs: tomorrow 01:00 and 06:00 UTC.
    now = utcnow()
    first_in = (now + timedelta(days=1)).replace(hour=1, minute=0, second=0, microsecond=0) - now
    morning = await factories.session(capacity=5, slot_count=2, doctor_row=doc, starts_in=first_in)
    same_department_later = await factories.session(
        capacity=5, doctor_row=doc, starts_in=first_in + timedelta(hours=5)
    )
    slots = await Slot.filter(schedule_id=morning.id).order_by("starts_at")
    await book(gql, student.token, slots[0].id, me.id)

    again_same_session = await book(gql, student.token, slots[1].id, me.id)
    same_department_same_day = await book(
        gql, student.token, (await first_slot(same_department_later.id)).id, me.id
    )

    assert again_same_session["__typename"] == "DuplicateBooking"
    assert same_department_same_day["__typename"] == "DuplicateBooking"
    # The refused attempts gave their seats back (the decrement was rolled back).
    assert [s.remaining for s in await Slot.filter(schedule_id=morning.id).order_by("starts_at")] == [2, 2]
    assert (await first_slot(same_department_later.id)).remaining == 5


async def test_an_account_books_at_most_the_daily_quota_for_its_patients(gql: GraphQLClient) -> None:
    parent = await factories.patient_user()
    family = [
        await factories.patient(parent, id_number=factories.resident_id(birth=f"2000010{day}"))
        for day in range(1, 5)
    ]
    sessions = [await factories.session(capacity=2) for _ in range(4)]  # four departments, same day

    results = [
        (await book(gql, parent.token, (await first_slot(s.id)).id, p.id))["__typename"]
        for s, p in zip(sessions, family, strict=True)
    ]

    assert results == ["Booking", "Booking", "Booking", "QuotaExceeded"]
    assert (await first_slot(sessions[3].id)).remaining == 2


async def test_the_same_idempotency_key_returns_the_same_booking_and_other_arguments_are_refused(
    gql: GraphQLClient,
) -> None:
    student = await factories.patient_user()
    me = await factories.patient(student)
    child = await factories.patient(student, id_number=factories.resident_id(birth="20150101"))
    session = await factories.session(capacity=5)
    slot = await first_slot(session.id)

    first = await book(gql, student.token, slot.id, me.id, key="retry-key-1")
    retried = await book(gql, student.token, slot.id, me.id, key="retry-key-1")
    other_arguments = await book(gql, student.token, slot.id, child.id, key="retry-key-1")

    assert retried == first
    assert other_arguments["__typename"] == "IdempotencyKeyReused"
    assert (await Slot.get(id=slot.id)).remaining == 4


async def test_booking_needs_a_patient_login(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    session = await factories.session()
    body = await gql.as_(admin.token)(
        "mutation($i: BookSlotInput!) { bookSlot(input: $i) { __typename } }",
        {
            "i": {
                "slotId": str((await first_slot(session.id)).id),
                "patientId": "1",
                "idempotencyKey": "abcdefgh",
            }
        },
    )
    assert body["errors"][0]["message"] == "only a patient account may do this"
