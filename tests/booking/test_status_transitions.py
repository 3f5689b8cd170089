"""The booking state machine: every allowed and every forbidden transition, and the FHIR names."""

from __future__ import annotations

import itertools

import pytest
from tortoise.transactions import in_transaction

from models import jobs
from models.booking import Booking, BookingEvent, BookingQuota
from models.booking.placement import BookingPolicy, BookingRequest, place_booking
from models.booking.status import ACTIVE, FHIR_STATUS, RELEASES_SEAT, TRANSITIONS, BookingStatus
from models.errors import InvalidTransition
from models.reactions import change_booking
from models.scheduling import Slot
from tests import factories
from tests.booking.operations import first_slot

S = BookingStatus
PAIRS = list(itertools.product(S, S))
POLICY = BookingPolicy(hold_minutes=15, max_per_account_per_day=3)


async def _booking_in(status: BookingStatus) -> Booking:
    student = await factories.patient_user()
    me = await factories.patient(student)
    session = await factories.session(capacity=2)
    slot = await first_slot(session.id)
    request = BookingRequest(student.id, slot.id, me.id, "key-transitions")
    booking = (await place_booking(request, POLICY)).booking
    # Put the booking in the starting status as the rest of the system would leave it.
    if status not in ACTIVE:
        await Slot.filter(id=slot.id).update(remaining=2)
        await BookingQuota.filter(account_id=student.id).update(active=0)
        await Booking.filter(id=booking.id).update(
            status=status, active_session_key=None, active_department_day_key=None
        )
    else:
        await Booking.filter(id=booking.id).update(status=status)
    return await Booking.get(id=booking.id)


ALLOWED = [(a, b) for a, b in PAIRS if b in TRANSITIONS[a]]
FORBIDDEN = [(a, b) for a, b in PAIRS if b not in TRANSITIONS[a]]


async def test_every_allowed_transition_changes_status_records_the_event_and_settles_the_seat() -> None:
    # One test walks all pairs (each on a fresh booking): a test per pair would spend its time
    # emptying tables on PostgreSQL.
    admin = await factories.admin_user()
    for current, target in ALLOWED:
        booking = await _booking_in(current)
        remaining_before = (await Slot.get(id=booking.slot_id)).remaining
        freed_before = await jobs.Job.filter(kind="seat.freed").count()

        async with in_transaction():
            await change_booking(booking, target, actor_id=admin.id, reason="walked by the test")

        fresh = await Booking.get(id=booking.id)
        assert fresh.status is target, (current, target)
        event = await BookingEvent.filter(booking_id=booking.id).order_by("-id").first()
        assert event is not None
        assert (event.from_status, event.to_status, event.actor_id, event.reason) == (
            current,
            target,
            admin.id,
            "walked by the test",
        )
        gives_seat_back = current in ACTIVE and target in RELEASES_SEAT
        remaining_after = (await Slot.get(id=booking.slot_id)).remaining
        assert remaining_after == remaining_before + (1 if gives_seat_back else 0), (current, target)
        freed = await jobs.Job.filter(kind="seat.freed").count() - freed_before
        assert freed == (1 if gives_seat_back else 0), (current, target)
        if target not in ACTIVE:
            assert (fresh.active_session_key, fresh.active_department_day_key) == (None, None)
    assert len(ALLOWED) == 10


async def test_every_forbidden_transition_is_a_typed_error_and_changes_nothing() -> None:
    bookings = {status: await _booking_in(status) for status in S}  # a refusal changes nothing
    for current, target in FORBIDDEN:
        booking = bookings[current]
        with pytest.raises(InvalidTransition) as refused:
            async with in_transaction():
                await change_booking(booking, target, actor_id=None, reason="forbidden")
        assert refused.value.details == {
            "entity": "booking",
            "from_status": current.value,
            "to_status": target.value,
        }
        assert (await Booking.get(id=booking.id)).status is current
        assert await BookingEvent.filter(booking_id=booking.id, reason="forbidden").count() == 0
    assert len(FORBIDDEN) == 54


async def test_a_stale_copy_loses_the_race_with_a_typed_error() -> None:
    booking = await _booking_in(S.PENDING_PAYMENT)
    stale = await Booking.get(id=booking.id)
    async with in_transaction():
        await change_booking(booking, S.CONFIRMED, actor_id=None, reason="paid")
    with pytest.raises(InvalidTransition) as refused:
        async with in_transaction():
            await change_booking(stale, S.EXPIRED, actor_id=None, reason="sweep")
    assert refused.value.details["from_status"] == "confirmed"
    assert await BookingEvent.filter(booking_id=booking.id, to_status=S.EXPIRED).count() == 0


def test_statuses_map_to_fhir_appointment_statuses() -> None:
    fhir_r4 = {
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    }
    assert set(FHIR_STATUS) == set(S)
    assert set(FHIR_STATUS.values()) <= fhir_r4
    # Where the names coincide they are the same word.
    assert FHIR_STATUS[S.CANCELLED] == "cancelled"
    assert FHIR_STATUS[S.CHECKED_IN] == "checked-in"
    assert FHIR_STATUS[S.NO_SHOW] == "noshow"
    assert FHIR_STATUS[S.COMPLETED] == "fulfilled"
    assert FHIR_STATUS[S.CONFIRMED] == "booked"
    assert FHIR_STATUS[S.PENDING_PAYMENT] == "pending"


def test_terminal_statuses_have_no_way_out_and_every_status_is_reachable() -> None:
    terminal = {status for status, targets in TRANSITIONS.items() if not targets}
    assert terminal == {S.COMPLETED, S.CANCELLED, S.EXPIRED, S.NO_SHOW}
    reachable = {S.PENDING_PAYMENT, S.CONFIRMED} | set().union(*TRANSITIONS.values())
    assert reachable == set(S)
