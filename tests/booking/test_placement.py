"""One battery for the one placement, run in both of its forms on every database: as its own
transaction (on PostgreSQL the one-statement form) and inside a caller's transaction (the ORM steps,
as the waitlist, the desk and rescheduling use it). Each scenario asserts the same outcome in both."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from tortoise.transactions import in_transaction

from models import jobs
from models.booking import Booking, BookingEvent, BookingQuota, BookingStatus
from models.booking.placement import BookingPolicy, BookingRequest, Placed, place_booking
from models.booking.rules import (
    Blacklisted,
    DuplicateBooking,
    IdempotencyKeyReused,
    QuotaExceeded,
    SlotUnavailable,
)
from models.clock import utcnow
from models.no_shows import NoShowBlock
from models.notifications import Notification, SmsMessage
from models.reminders import VISIT_REMINDER
from models.scheduling import Slot
from tests import factories
from tests.booking.operations import first_slot

POLICY = BookingPolicy(hold_minutes=15, max_per_account_per_day=2)
Place = Callable[[BookingRequest], Awaitable[Placed]]


async def _own_transaction(request: BookingRequest) -> Placed:
    return await place_booking(request, POLICY)


async def _inside_callers_transaction(request: BookingRequest) -> Placed:
    async with in_transaction(), in_transaction():  # the caller's transaction and its savepoint
        return await place_booking(request, POLICY, in_callers_transaction=True)


FORMS = pytest.mark.parametrize(
    "place", [_own_transaction, _inside_callers_transaction], ids=["own", "inside"]
)


async def _patient() -> tuple[factories.Actor, int]:
    holder = await factories.patient_user()
    return holder, (await factories.patient(holder)).id


@FORMS
async def test_a_free_seat_is_taken_numbered_counted_and_confirmed_with_its_messages(place: Place) -> None:
    holder, patient_id = await _patient()
    session = await factories.session(capacity=3, starts_in=timedelta(days=3))
    slot = await first_slot(session.id)

    placed = await place(BookingRequest(holder.id, slot.id, patient_id, "battery-first"))

    booking = await Booking.get(id=placed.booking.id)
    assert (booking.status, booking.queue_number, booking.fee) == (BookingStatus.CONFIRMED, 1, 0)
    fresh_slot = await Slot.get(id=slot.id)
    assert (fresh_slot.remaining, fresh_slot.issued) == (2, 1)
    assert (await BookingQuota.get(account_id=holder.id, visit_date=booking.visit_date)).active == 1
    events = await BookingEvent.filter(booking_id=booking.id).values_list("from_status", "to_status")
    assert events == [(None, BookingStatus.CONFIRMED)]
    assert await SmsMessage.filter(event="booking.confirmed").count() == 1
    assert await Notification.filter(event="booking.confirmed", booking_id=booking.id).count() == 1
    assert await jobs.Job.filter(kind=VISIT_REMINDER).count() == 1


@FORMS
async def test_a_paid_seat_is_held_for_payment_and_tells_nothing_yet(place: Place) -> None:
    holder, patient_id = await _patient()
    session = await factories.session(capacity=2, fee=2000)
    slot = await first_slot(session.id)

    placed = await place(BookingRequest(holder.id, slot.id, patient_id, "battery-paid"))

    booking = await Booking.get(id=placed.booking.id)
    assert booking.status is BookingStatus.PENDING_PAYMENT
    assert booking.expires_at is not None
    assert booking.expires_at - booking.created_at == timedelta(minutes=15)
    assert await SmsMessage.all().count() == await Notification.all().count() == 0


@FORMS
async def test_numbers_follow_the_slot_blocks_then_the_session_counter(place: Place) -> None:
    session = await factories.session(capacity=4, slot_count=2)
    early, late = await Slot.filter(schedule_id=session.id).order_by("starts_at")

    async def book(slot: Slot) -> int:
        holder, patient_id = await _patient()
        placed = await place(
            BookingRequest(holder.id, slot.id, patient_id, f"battery-n{slot.id}-{holder.id}")
        )
        return placed.booking.queue_number

    numbers = [await book(late), await book(early), await book(late)]
    await Slot.filter(id=late.id).update(remaining=1)  # a seat of the late slot given back
    numbers.append(await book(late))

    # The early slot's block is 1-2 and the late one's 3-4; a seat issued past its slot's block takes
    # the session's next number after the capacity.
    assert numbers == [3, 1, 4, 5]


@FORMS
async def test_the_same_patient_cannot_hold_two_seats_of_a_session(place: Place) -> None:
    holder, patient_id = await _patient()
    session = await factories.session(capacity=3)
    slot = await first_slot(session.id)
    await place(BookingRequest(holder.id, slot.id, patient_id, "battery-dup-1"))

    with pytest.raises(DuplicateBooking):
        await place(BookingRequest(holder.id, slot.id, patient_id, "battery-dup-2"))

    assert await Booking.filter(schedule_id=session.id).count() == 1
    assert (await Slot.get(id=slot.id)).remaining == 2
    assert (await BookingQuota.get(account_id=holder.id)).active == 1


@FORMS
async def test_the_daily_quota_refuses_the_next_booking_and_takes_nothing(place: Place) -> None:
    holder = await factories.patient_user()
    sessions = [await factories.session(capacity=2) for _ in range(3)]
    for i, session in enumerate(sessions[:2]):
        person = await factories.patient(holder)
        await place(BookingRequest(holder.id, (await first_slot(session.id)).id, person.id, f"battery-q{i}"))
    third = await first_slot(sessions[2].id)

    with pytest.raises(QuotaExceeded):
        await place(BookingRequest(holder.id, third.id, (await factories.patient(holder)).id, "battery-q3"))

    assert (await Slot.get(id=third.id)).remaining == 2
    assert (await BookingQuota.get(account_id=holder.id)).active == 2


@FORMS
async def test_a_full_slot_sells_nothing(place: Place) -> None:
    holder, patient_id = await _patient()
    session = await factories.session(capacity=1)
    slot = await first_slot(session.id)
    await Slot.filter(id=slot.id).update(remaining=0)

    with pytest.raises(SlotUnavailable):
        await place(BookingRequest(holder.id, slot.id, patient_id, "battery-full"))

    assert await Booking.all().count() == 0
    assert await BookingQuota.filter(active__gt=0).count() == 0


@FORMS
async def test_an_idempotency_key_replays_its_booking_and_refuses_another_request(place: Place) -> None:
    holder, patient_id = await _patient()
    session = await factories.session(capacity=3)
    slot = await first_slot(session.id)
    first = await place(BookingRequest(holder.id, slot.id, patient_id, "battery-replay"))

    again = await place(BookingRequest(holder.id, slot.id, patient_id, "battery-replay"))
    other_patient = (await factories.patient(holder)).id
    with pytest.raises(IdempotencyKeyReused):
        await place(BookingRequest(holder.id, slot.id, other_patient, "battery-replay"))

    assert (again.booking.id, again.change) == (first.booking.id, None)
    assert (await Slot.get(id=slot.id)).remaining == 2


@FORMS
async def test_a_person_blocked_for_no_shows_cannot_book(place: Place) -> None:
    holder = await factories.patient_user()
    person = await factories.patient(holder)
    now = utcnow()
    await NoShowBlock.create(
        identity_hash=person.id_number_hash,
        patient_id=person.id,
        account_id=holder.id,
        no_shows=3,
        starts_at=now,
        ends_at=now + timedelta(days=30),
    )
    slot = await first_slot((await factories.session(capacity=2)).id)

    with pytest.raises(Blacklisted):
        await place(BookingRequest(holder.id, slot.id, person.id, "battery-blocked"))

    assert await Booking.all().count() == 0
