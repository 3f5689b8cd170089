"""改约: a booking moves to another slot of its department; the new seat is taken before the old one
is given back, the money follows, and any refusal leaves the original untouched."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from gualema.database import dialect
from models import jobs
from models.booking import Booking, BookingEvent, BookingQuota, BookingStatus
from models.booking.actions import expire_holds
from models.booking.placement import BookingPolicy, BookingRequest, place_booking
from models.clock import utcnow
from models.payments import PaymentOrder, PaymentProvider, PaymentStatus, new_out_trade_no
from models.reactions import change_booking
from models.scheduling import Slot
from tests import factories
from tests.booking.operations import assert_seats_balance, first_slot
from tests.fixtures.api import GraphQLClient, LiveServer, ServerProcess

RESCHEDULE = """
mutation($input: RescheduleBookingInput!) {
  rescheduleBooking(input: $input) {
    __typename
    ... on Booking { id status queueNumber slotId fee history { fromStatus toStatus reason } }
    ... on Error { message }
  }
}"""
POLICY = BookingPolicy(hold_minutes=15, max_per_account_per_day=3)


def _input(booking_id: int, slot_id: int, key: str | None = None) -> dict[str, Any]:
    return {
        "input": {
            "bookingId": str(booking_id),
            "slotId": str(slot_id),
            "idempotencyKey": key or secrets.token_hex(8),
        }
    }


async def _booked(holder: factories.Actor, slot_id: int) -> Booking:
    patient = await factories.patient(holder)
    request = BookingRequest(holder.id, slot_id, patient.id, secrets.token_hex(8))
    return (await place_booking(request, POLICY)).booking


async def _two_sessions(
    *, fee: int = 0, later_fee: int | None = None, later_capacity: int = 3
) -> tuple[Any, Any]:
    doctor, _ = await factories.doctor()
    first = await factories.session(capacity=10, fee=fee, starts_in=timedelta(days=2), doctor_row=doctor)
    later = await factories.session(
        capacity=later_capacity,
        fee=fee if later_fee is None else later_fee,
        starts_in=timedelta(days=2, hours=5),
        doctor_row=doctor,
    )
    return first, later


async def _paid(booking: Booking) -> PaymentOrder:
    order = await PaymentOrder.create(
        booking_id=booking.id,
        account_id=booking.account_id,
        provider=PaymentProvider.SANDBOX,
        out_trade_no=new_out_trade_no(),
        amount=booking.fee,
        status=PaymentStatus.PAID,
        expires_at=booking.expires_at,
        paid_amount=booking.fee,
    )
    await change_booking(booking, BookingStatus.CONFIRMED, actor_id=None, reason="paid")  # as payments would
    return order


async def test_a_patient_moves_a_booking_and_the_history_links_both(gql: GraphQLClient) -> None:
    holder = await factories.patient_user()
    first, later = await _two_sessions()
    old = await _booked(holder, (await first_slot(first.id)).id)
    target = await first_slot(later.id)

    data = await gql.as_(holder.token).data(RESCHEDULE, _input(old.id, target.id))

    moved = data["rescheduleBooking"]
    assert (moved["__typename"], moved["status"], moved["slotId"]) == ("Booking", "CONFIRMED", str(target.id))
    assert moved["history"] == [
        {"fromStatus": None, "toStatus": "CONFIRMED", "reason": f"改约自 booking {old.id} (rescheduled from)"}
    ]
    before = await Booking.get(id=old.id)
    assert before.status is BookingStatus.RESCHEDULED
    assert before.active_session_key is None
    last = await BookingEvent.filter(booking_id=old.id).order_by("-id").first()
    assert last is not None
    assert (last.to_status, last.reason) == (
        BookingStatus.RESCHEDULED,
        f"改约至 booking {moved['id']} (rescheduled to)",
    )
    assert (await Slot.get(id=old.slot_id)).remaining == 10
    assert (await Slot.get(id=target.id)).remaining == 2
    assert (await BookingQuota.get(account_id=holder.id)).active == 1
    await assert_seats_balance(first.id)
    await assert_seats_balance(later.id)


async def test_a_full_slot_refuses_and_the_original_is_untouched(gql: GraphQLClient) -> None:
    holder = await factories.patient_user()
    first, later = await _two_sessions(later_capacity=1)
    old = await _booked(holder, (await first_slot(first.id)).id)
    target = await first_slot(later.id)
    await _booked(await factories.patient_user(), target.id)

    data = await gql.as_(holder.token).data(RESCHEDULE, _input(old.id, target.id))

    assert data["rescheduleBooking"]["__typename"] == "SlotUnavailable"
    kept = await Booking.get(id=old.id)
    assert (kept.status, kept.active_session_key) == (BookingStatus.CONFIRMED, old.active_session_key)
    assert (await Slot.get(id=old.slot_id)).remaining == 9
    assert (await BookingQuota.get(account_id=holder.id)).active == 1


async def test_a_patient_at_the_daily_limit_can_still_move_within_the_day(gql: GraphQLClient) -> None:
    holder = await factories.patient_user()
    first, later = await _two_sessions()
    old = await _booked(holder, (await first_slot(first.id)).id)
    await BookingQuota.filter(account_id=holder.id).update(active=POLICY.max_per_account_per_day)

    data = await gql.as_(holder.token).data(RESCHEDULE, _input(old.id, (await first_slot(later.id)).id))

    assert data["rescheduleBooking"]["__typename"] == "Booking"
    assert (await BookingQuota.get(account_id=holder.id)).active == POLICY.max_per_account_per_day


async def test_another_department_the_same_slot_and_a_finished_booking_are_refused(
    gql: GraphQLClient,
) -> None:
    holder = await factories.patient_user()
    first, _ = await _two_sessions()
    elsewhere = await factories.session(capacity=3, starts_in=timedelta(days=3))
    old = await _booked(holder, (await first_slot(first.id)).id)

    other = await gql.as_(holder.token).data(RESCHEDULE, _input(old.id, (await first_slot(elsewhere.id)).id))
    same = await gql.as_(holder.token).data(RESCHEDULE, _input(old.id, old.slot_id))

    assert other["rescheduleBooking"]["__typename"] == "RescheduleNotAllowed"
    assert same["rescheduleBooking"]["__typename"] == "RescheduleNotAllowed"
    assert (await Booking.get(id=old.id)).status is BookingStatus.CONFIRMED


async def test_the_cancellation_cutoff_applies_to_patients(gql: GraphQLClient) -> None:
    holder = await factories.patient_user()
    doctor, _ = await factories.doctor()
    soon = await factories.session(capacity=3, starts_in=timedelta(minutes=30), doctor_row=doctor)
    later = await factories.session(capacity=3, starts_in=timedelta(days=1), doctor_row=doctor)
    old = await _booked(holder, (await first_slot(soon.id)).id)

    data = await gql.as_(holder.token).data(RESCHEDULE, _input(old.id, (await first_slot(later.id)).id))

    assert data["rescheduleBooking"]["__typename"] == "CancellationClosed"
    assert (await Booking.get(id=old.id)).status is BookingStatus.CONFIRMED


async def test_a_paid_booking_moved_to_a_cheaper_session_keeps_its_order_and_gets_the_difference_back(
    gql: GraphQLClient,
) -> None:
    holder = await factories.patient_user()
    first, later = await _two_sessions(fee=5000, later_fee=2000)
    old = await _booked(holder, (await first_slot(first.id)).id)
    order = await _paid(old)

    data = await gql.as_(holder.token).data(RESCHEDULE, _input(old.id, (await first_slot(later.id)).id))

    moved = data["rescheduleBooking"]
    assert (moved["status"], moved["fee"]) == ("CONFIRMED", 2000)
    assert (await PaymentOrder.get(id=order.id)).booking_id == int(moved["id"])
    refunds = [job.payload for job in await jobs.Job.filter(kind="payment.refund")]
    assert refunds == [
        {"booking_id": int(moved["id"]), "order_id": order.id, "amount": 3000, "reason": "改约差价退款"}
    ]


async def test_a_paid_booking_moved_at_the_same_fee_is_confirmed_and_refunds_nothing(
    gql: GraphQLClient,
) -> None:
    holder = await factories.patient_user()
    first, later = await _two_sessions(fee=2000)
    old = await _booked(holder, (await first_slot(first.id)).id)
    await _paid(old)

    data = await gql.as_(holder.token).data(RESCHEDULE, _input(old.id, (await first_slot(later.id)).id))

    assert data["rescheduleBooking"]["status"] == "CONFIRMED"
    assert await jobs.Job.filter(kind="payment.refund").count() == 0


async def test_a_dearer_session_waits_for_the_difference_and_a_lapse_refunds_what_was_paid(
    gql: GraphQLClient,
) -> None:
    holder = await factories.patient_user()
    first, later = await _two_sessions(fee=2000, later_fee=5000)
    old = await _booked(holder, (await first_slot(first.id)).id)
    order = await _paid(old)

    data = await gql.as_(holder.token).data(RESCHEDULE, _input(old.id, (await first_slot(later.id)).id))
    moved = data["rescheduleBooking"]
    assert moved["status"] == "PENDING_PAYMENT"

    await expire_holds(now=utcnow() + timedelta(hours=1))

    assert (await Booking.get(id=int(moved["id"]))).status is BookingStatus.EXPIRED
    refunds = [job.payload for job in await jobs.Job.filter(kind="payment.refund")]
    assert refunds == [{"booking_id": int(moved["id"]), "reason": "payment window elapsed"}]
    assert (await PaymentOrder.get(id=order.id)).booking_id == int(moved["id"])


async def test_the_same_request_retried_answers_with_the_same_booking(gql: GraphQLClient) -> None:
    holder = await factories.patient_user()
    first, later = await _two_sessions()
    old = await _booked(holder, (await first_slot(first.id)).id)
    variables = _input(old.id, (await first_slot(later.id)).id, key="move-once-please")

    one = await gql.as_(holder.token).data(RESCHEDULE, variables)
    two = await gql.as_(holder.token).data(RESCHEDULE, variables)

    assert one["rescheduleBooking"]["id"] == two["rescheduleBooking"]["id"]
    assert await Booking.filter(schedule_id=later.id).count() == 1


# -- ten patients at once into three free seats


async def _ten_move_at_once(urls: list[str]) -> None:
    first, later = await _two_sessions(later_capacity=3)
    start = await first_slot(first.id)
    target = await first_slot(later.id)
    movers = []
    for _ in range(10):
        holder = await factories.patient_user()
        movers.append((holder.token, await _booked(holder, start.id)))
    clients = [httpx.AsyncClient(base_url=url, timeout=60) for url in urls]
    try:

        async def move(i: int, token: str, booking: Booking) -> str:
            response = await clients[i % len(clients)].post(
                "/graphql",
                json={"query": RESCHEDULE, "variables": _input(booking.id, target.id)},
                headers={"Authorization": f"Bearer {token}"},
            )
            body = response.json()
            assert "errors" not in body, body
            return str(body["data"]["rescheduleBooking"]["__typename"])

        results = await asyncio.gather(*(move(i, t, b) for i, (t, b) in enumerate(movers)))
    finally:
        for client in clients:
            await client.aclose()

    assert Counter(results) == {"Booking": 3, "SlotUnavailable": 7}
    statuses = Counter(b.status for b in await Booking.filter(id__in=[b.id for _, b in movers]))
    assert statuses == {BookingStatus.RESCHEDULED: 3, BookingStatus.CONFIRMED: 7}
    assert await Booking.filter(schedule_id=later.id, status=BookingStatus.CONFIRMED).count() == 3
    await assert_seats_balance(first.id)
    await assert_seats_balance(later.id)


async def test_ten_patients_moving_into_three_free_seats_exactly_three_move(live_server: LiveServer) -> None:
    await _ten_move_at_once([live_server.url])


async def test_ten_patients_moving_through_two_server_processes_exactly_three_move(
    server_processes: Callable[..., ServerProcess],
) -> None:
    if dialect() == "sqlite":
        pytest.skip("SQLite is the single-process embedded default; scale-out needs PostgreSQL or MariaDB")
    await _ten_move_at_once([server_processes().url, server_processes().url])
