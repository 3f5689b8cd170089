"""bookSlot: each rule of the decision, one scenario each."""

from __future__ import annotations

from datetime import timedelta

from tortoise import connections
from tortoise.transactions import in_transaction

from gualema.database import dialect
from gualema.settings import get_settings
from models import jobs
from models.booking import Booking, BookingEvent, BookingQuota, BookingStatus, placement
from models.booking.placement import BookingPolicy, BookingRequest
from models.booking.placement_sql import read_request
from models.booking.rules import SlotUnavailable, request_fingerprint
from models.clock import utcnow
from models.notifications import Notification, SmsMessage, idempotency_key_for
from models.reactions import change_booking
from models.reminders import VISIT_REMINDER, local_time_on
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

    await change_booking(cancelled, BookingStatus.CANCELLED, actor_id=None, reason="test")
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


async def test_the_confirmation_text_inbox_message_and_reminder_are_written_with_the_booking(
    gql: GraphQLClient,
) -> None:
    student = await factories.patient_user()
    me = await factories.patient(student)
    session = await factories.session(capacity=30, starts_in=timedelta(days=3))
    slot = await first_slot(session.id)
    await Slot.filter(id=slot.id).update(issued=slot.block_size)  # past the block: the session's counter
    await factories.session(capacity=1)  # other rows in the outbox tables do not matter

    booked = await book(gql, student.token, slot.id, me.id)

    number, dedupe_key = booked["queueNumber"], f"booking.confirmed:{booked['id']}"
    [text] = await SmsMessage.filter(dedupe_key=dedupe_key)
    [inbox] = await Notification.filter(dedupe_key=dedupe_key)
    assert f"序号{number}。" in text.body
    assert text.body == inbox.body
    assert "\ue000" not in text.body
    assert text.params["queue_number"] == inbox.params["queue_number"] == str(number)
    assert text.params["patient_name"] == me.name
    assert (text.phone, text.account_id, text.max_attempts) == (me.phone, student.id, 6)
    assert text.idempotency_key == idempotency_key_for(dedupe_key)
    assert (inbox.booking_id, inbox.title) == (int(booked["id"]), "挂号成功")
    [reminder] = await jobs.Job.filter(kind=VISIT_REMINDER)
    settings = get_settings()
    assert reminder.payload == {"booking_id": int(booked["id"])}
    assert reminder.dedupe_key == f"{VISIT_REMINDER}:{booked['id']}"
    assert reminder.run_at == local_time_on(
        session.date - timedelta(days=1), settings.visit_reminder_hour, settings.timezone
    )


async def test_a_paid_registration_sends_no_confirmation_before_payment(gql: GraphQLClient) -> None:
    student = await factories.patient_user()
    session = await factories.session(capacity=3, fee=1500, starts_in=timedelta(days=3))

    await book(gql, student.token, (await first_slot(session.id)).id, (await factories.patient(student)).id)

    assert await SmsMessage.all().count() == await Notification.all().count() == 0
    assert await jobs.Job.all().count() == 0


async def test_a_read_that_saw_a_seat_gone_by_the_write_sells_nothing_and_keeps_no_quota() -> None:
    # The decision never trusts the read: here the last seat goes between the two.

    student = await factories.patient_user()
    me = await factories.patient(student)
    session = await factories.session(capacity=1)
    slot = await first_slot(session.id)
    request = BookingRequest(student.id, slot.id, me.id, "stale-read-key")
    facts = await read_request(student.id, slot.id, me.id, "stale-read-key", utcnow())
    assert facts.remaining == 1
    await Slot.filter(id=slot.id).update(remaining=0)

    policy = BookingPolicy(hold_minutes=15, max_per_account_per_day=3)
    fingerprint = request_fingerprint(slot.id, me.id)
    try:
        if dialect() == "postgres":
            async with connections.get("default").acquire_connection() as connection:
                await placement._place_in_one_statement(
                    connection, request, policy, facts, fingerprint, utcnow()
                )
        else:
            async with in_transaction():
                await placement._place_in_steps(request, policy, facts, fingerprint, utcnow(), None)
        raise AssertionError("a seat that is gone was sold")
    except SlotUnavailable:
        pass

    assert await Booking.all().count() == 0
    assert await BookingQuota.filter(account_id=student.id, active__gt=0).count() == 0
    assert (await Slot.get(id=slot.id)).remaining == 0
