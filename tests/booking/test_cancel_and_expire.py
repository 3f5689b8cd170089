"""Cancellation before the cutoff, hold expiry, and what each gives back."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from models import jobs
from models.booking import Booking, BookingQuota, BookingStatus
from models.booking.actions import expire_holds
from models.clock import utcnow
from models.reactions import change_booking
from models.scheduling import Slot
from tests import factories
from tests.booking.operations import CANCEL, book, first_slot
from tests.fixtures.api import GraphQLClient


async def _job_payloads(kind: str) -> list[tuple[dict[str, object], str | None]]:
    return [(job.payload, job.dedupe_key) for job in await jobs.Job.filter(kind=kind).order_by("id")]


async def test_a_patient_cancels_before_the_cutoff_and_the_seat_goes_to_the_waitlist_first(
    gql: GraphQLClient,
) -> None:
    student = await factories.patient_user()
    me = await factories.patient(student)
    session = await factories.session(capacity=2)
    slot = await first_slot(session.id)
    booked = await book(gql, student.token, slot.id, me.id)

    data = await gql.as_(student.token).data(CANCEL, {"input": {"bookingId": booked["id"], "reason": "好了"}})

    cancelled = data["cancelBooking"]
    assert (cancelled["status"], cancelled["cancelReason"]) == ("CANCELLED", "好了")
    assert cancelled["history"][-1] == {
        "fromStatus": "CONFIRMED",
        "toStatus": "CANCELLED",
        "reason": "好了",
        "actorId": str(student.id),
    }
    assert (await Slot.get(id=slot.id)).remaining == 2
    assert await _job_payloads("seat.freed") == [
        ({"slot_id": slot.id, "schedule_id": session.id, "reserved": False}, None)
    ]
    assert await _job_payloads("payment.refund") == []  # free registration: nothing to refund
    assert (await BookingQuota.get(account_id=student.id)).active == 0


async def test_cancelling_a_paid_booking_asks_the_payment_module_for_a_refund(gql: GraphQLClient) -> None:
    student = await factories.patient_user()
    me = await factories.patient(student)
    session = await factories.session(fee=2000)
    booked = await book(gql, student.token, (await first_slot(session.id)).id, me.id)
    booking = await Booking.get(id=int(booked["id"]))

    await change_booking(booking, BookingStatus.CONFIRMED, actor_id=None, reason="paid")  # as payments would

    await gql.as_(student.token).data(CANCEL, {"input": {"bookingId": booked["id"], "reason": "有事"}})

    assert await _job_payloads("payment.refund") == [
        ({"booking_id": booking.id, "reason": "有事"}, f"refund:{booking.id}")
    ]


async def test_after_the_cutoff_a_patient_cannot_cancel_online(gql: GraphQLClient) -> None:
    student = await factories.patient_user()
    me = await factories.patient(student)
    session = await factories.session(starts_in=timedelta(minutes=90))  # cutoff is 120 minutes before
    booked = await book(gql, student.token, (await first_slot(session.id)).id, me.id)

    data = await gql.as_(student.token).data(CANCEL, {"input": {"bookingId": booked["id"]}})

    assert data["cancelBooking"]["__typename"] == "CancellationClosed"
    assert (await Booking.get(id=int(booked["id"]))).status is BookingStatus.CONFIRMED


async def test_nobody_cancels_someone_elses_booking_and_twice_is_an_invalid_transition(
    gql: GraphQLClient,
) -> None:
    student, stranger = await factories.patient_user(), await factories.patient_user()
    me = await factories.patient(student)
    session = await factories.session()
    booked = await book(gql, student.token, (await first_slot(session.id)).id, me.id)

    theirs = await gql.as_(stranger.token).data(CANCEL, {"input": {"bookingId": booked["id"]}})
    await gql.as_(student.token).data(CANCEL, {"input": {"bookingId": booked["id"]}})
    twice = await gql.as_(student.token).data(CANCEL, {"input": {"bookingId": booked["id"]}})

    assert theirs["cancelBooking"] == {"__typename": "NotFoundError", "message": "no such booking"}
    assert twice["cancelBooking"] == {
        "__typename": "InvalidStatusTransition",
        "message": "booking cannot go from cancelled to cancelled",
        "fromStatus": "cancelled",
        "toStatus": "cancelled",
    }


async def test_an_unpaid_hold_expires_once_gives_the_seat_back_and_closes_the_payment(
    gql: GraphQLClient,
) -> None:
    student = await factories.patient_user()
    me = await factories.patient(student)
    session = await factories.session(capacity=1, fee=1500)
    slot = await first_slot(session.id)
    booked = await book(gql, student.token, slot.id, me.id)
    assert (await Slot.get(id=slot.id)).remaining == 0
    after_hold = utcnow() + timedelta(minutes=16)

    assert await expire_holds(now=utcnow()) == 0  # still inside the window
    assert await expire_holds(now=after_hold) == 1
    assert await expire_holds(now=after_hold) == 0  # exactly once

    booking = await Booking.get(id=int(booked["id"]))
    assert (booking.status, booking.expires_at, booking.active_session_key) == (
        BookingStatus.EXPIRED,
        None,
        None,
    )
    assert (await Slot.get(id=slot.id)).remaining == 1
    assert await _job_payloads("payment.close") == [({"booking_id": booking.id}, f"close:{booking.id}")]
    assert len(await _job_payloads("seat.freed")) == 1
    # The patient may book again after the hold expired.
    again = await book(gql, student.token, slot.id, me.id)
    assert (again["__typename"], again["queueNumber"]) == ("Booking", 2)


async def test_two_sweepers_at_once_expire_each_hold_exactly_once(gql: GraphQLClient) -> None:
    session = await factories.session(capacity=5, fee=800)
    slot = await first_slot(session.id)
    for _ in range(3):
        student = await factories.patient_user()
        await book(gql, student.token, slot.id, (await factories.patient(student)).id)
    later = utcnow() + timedelta(minutes=16)

    counts = await asyncio.gather(expire_holds(now=later), expire_holds(now=later))

    assert sum(counts) == 3
    assert (await Slot.get(id=slot.id)).remaining == 5
    assert await jobs.Job.filter(kind="payment.close").count() == 3
    assert await jobs.Job.filter(kind="seat.freed").count() == 3
