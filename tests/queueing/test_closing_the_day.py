"""Closing the day: a called patient is told it is their turn, a patient checked in but never seen
ends LEFT_UNSEEN (not a no-show), a missed booking ends NO_SHOW and is told so, and the wait estimate
never reads 0 minutes while people are ahead."""

from __future__ import annotations

from datetime import timedelta

from models.booking import Booking, BookingStatus
from models.booking.actions import sweep_no_shows
from models.clock import utcnow
from models.no_shows import NoShowPolicy
from models.notifications import Notification, SmsMessage
from models.queue_board import wait_minutes
from models.scheduling import Schedule
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.queueing.conftest import CALL_NEXT, Clinic, arrive, ticket_mutation

POLICY = NoShowPolicy(threshold=1, window_days=90, block_days=90)


async def test_the_called_patient_is_told_in_the_app_and_by_sms_each_time_they_are_called(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    first = await arrive(gql, clinic, number=1)
    doctor = gql.as_(clinic.doctor_login.token)

    await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)})
    await doctor.data(ticket_mutation("skip"), {"ticketId": first.ticket_id})
    await doctor.data(ticket_mutation("restore"), {"ticketId": first.ticket_id})
    await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)})

    told = await Notification.filter(event="queue.your_turn", booking_id=first.booking.id).order_by("id")
    assert len(told) == 2
    assert "A001" in told[0].body
    assert await SmsMessage.filter(event="queue.your_turn").count() == 2


async def test_at_the_end_of_the_session_the_unseen_are_left_unseen_and_the_missing_are_no_shows(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    waiting = await arrive(gql, clinic, number=1)
    skipped = await arrive(gql, clinic, number=2)
    missing = await factories.confirmed_booking(clinic.schedule, number=3)
    doctor = gql.as_(clinic.doctor_login.token)
    await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)})  # number 1 called, never comes in
    called = await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)})
    await doctor.data(ticket_mutation("skip"), {"ticketId": called["callNext"]["id"]})
    await Schedule.filter(id=clinic.schedule.id).update(ends_at=utcnow() - timedelta(minutes=1))

    await sweep_no_shows(POLICY)

    statuses = {
        b.id: b.status
        for b in await Booking.filter(id__in=[waiting.booking.id, skipped.booking.id, missing.id])
    }
    assert statuses[waiting.booking.id] is BookingStatus.LEFT_UNSEEN
    assert statuses[skipped.booking.id] is BookingStatus.LEFT_UNSEEN
    assert statuses[missing.id] is BookingStatus.NO_SHOW
    assert await Notification.filter(event="booking.no_show", booking_id=missing.id).count() == 1
    assert await Notification.filter(event="booking.no_show", booking_id=skipped.booking.id).count() == 0


def test_the_wait_estimate_never_says_zero_minutes_while_people_are_ahead() -> None:
    assert wait_minutes(1, pace=5.0, default_minutes_per_patient=8) == 1  # a burst of 5-second visits
    assert wait_minutes(3, pace=90.0, default_minutes_per_patient=8) == 5  # 4.5 rounds up
    assert wait_minutes(0, pace=90.0, default_minutes_per_patient=8) == 0
    assert wait_minutes(2, pace=None, default_minutes_per_patient=8) == 16
