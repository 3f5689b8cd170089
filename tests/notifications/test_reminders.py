"""Reminders: the day before a visit, and a doctor's follow-up (复诊) reminder. Both are durable jobs
checked against the booking when they run."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from models import jobs
from models.booking import Booking, BookingStatus
from models.catalogue import Doctor, Room
from models.clock import utcnow
from models.notifications import SmsMessage
from models.reactions import change_booking
from models.reminders import FOLLOWUP_REMINDER, VISIT_REMINDER, reminder_handlers, set_followup_reminder
from models.scheduling import Schedule
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.notifications.conftest import confirmed_booking

SHANGHAI = ZoneInfo("Asia/Shanghai")

SET_FOLLOW_UP = """
mutation($bookingId: ID!, $date: Date!, $note: String!) {
  setFollowUpReminder(bookingId: $bookingId, date: $date, note: $note) {
    __typename
    ... on FollowUpReminder { bookingId date note sendsAt }
    ... on Error { message }
  }
}"""


async def confirm(booking: Booking) -> None:
    """The booking is paid: it goes from its hold to CONFIRMED as the payment path moves it."""
    await Booking.filter(id=booking.id).update(status=BookingStatus.PENDING_PAYMENT)
    booking.status = BookingStatus.PENDING_PAYMENT
    async with in_transaction():
        await change_booking(booking, BookingStatus.CONFIRMED, actor_id=None, reason="paid")


async def run_due_reminders() -> int:
    """What a server process does on its next round, after the job's time has come."""
    await jobs.Job.filter(kind__in=[VISIT_REMINDER, FOLLOWUP_REMINDER]).update(run_at=utcnow())
    return await jobs.JobRunner(reminder_handlers()).run_once()


async def test_a_confirmed_booking_is_reminded_the_evening_before() -> None:
    booking, holder = await confirmed_booking(visit_in=timedelta(days=3))
    await confirm(booking)

    [job] = await jobs.Job.filter(kind=VISIT_REMINDER)
    expected = datetime.combine(booking.visit_date - timedelta(days=1), time(18), tzinfo=SHANGHAI)
    assert job.run_at == expected
    assert await run_due_reminders() == 1

    [text] = await SmsMessage.filter(event="visit.reminder")
    assert text.phone == holder.account.phone
    assert text.body.startswith("王小明，您预约了明天")
    room = await Room.get(id=(await Schedule.get(id=booking.schedule_id)).room_id)
    assert text.params["location"] == room.name


async def test_a_booking_cancelled_before_the_reminder_gets_none() -> None:
    booking, _ = await confirmed_booking(visit_in=timedelta(days=3))
    await confirm(booking)
    await Booking.filter(id=booking.id).update(status=BookingStatus.CANCELLED)

    assert await run_due_reminders() == 1  # the job ran …
    assert await SmsMessage.filter(event="visit.reminder").count() == 0  # … and said nothing


async def test_a_booking_made_after_the_reminder_time_gets_no_reminder() -> None:
    booking, _ = await confirmed_booking(visit_in=timedelta(hours=2))
    await confirm(booking)
    assert await jobs.Job.filter(kind=VISIT_REMINDER).count() == 0


async def test_the_doctor_sets_a_follow_up_reminder_that_is_texted_on_the_day(gql: GraphQLClient) -> None:
    booking, holder = await confirmed_booking(status=BookingStatus.COMPLETED)
    schedule = await Schedule.get(id=booking.schedule_id)
    doctor = await Doctor.get(id=schedule.doctor_id).prefetch_related("account")
    token = factories.token_for(doctor.account)
    on = date.today() + timedelta(days=14)  # noqa: DTZ011

    answer = await gql.as_(token).data(
        SET_FOLLOW_UP, {"bookingId": str(booking.id), "date": on.isoformat(), "note": "空腹抽血"}
    )

    assert answer["setFollowUpReminder"]["__typename"] == "FollowUpReminder"
    assert (
        answer["setFollowUpReminder"]["sendsAt"] == datetime.combine(on, time(9), tzinfo=SHANGHAI).isoformat()
    )
    assert await run_due_reminders() == 1
    [text] = await SmsMessage.filter(event="followup.reminder")
    assert text.phone == holder.account.phone
    assert (
        text.body == f"王小明，李医生医生提醒您于{on.isoformat()}到{text.params['department']}复诊。空腹抽血"
    )


async def test_only_the_bookings_doctor_may_set_a_follow_up_and_only_for_a_later_date(
    gql: GraphQLClient,
) -> None:
    booking, holder = await confirmed_booking(status=BookingStatus.COMPLETED)
    _, stranger = await factories.doctor()
    later = (date.today() + timedelta(days=7)).isoformat()  # noqa: DTZ011

    by_stranger = await gql.as_(stranger.token).data(
        SET_FOLLOW_UP, {"bookingId": str(booking.id), "date": later, "note": ""}
    )
    by_patient = await gql.as_(holder.token)(
        SET_FOLLOW_UP, {"bookingId": str(booking.id), "date": later, "note": ""}
    )

    assert by_stranger["setFollowUpReminder"]["__typename"] == "NotAllowedError"
    assert by_patient["errors"][0]["extensions"] == {"code": "FORBIDDEN"}


async def test_a_follow_up_for_a_booking_cancelled_meanwhile_is_not_sent() -> None:
    booking, _ = await confirmed_booking()
    schedule = await Schedule.get(id=booking.schedule_id)

    doctor = await Doctor.get(id=schedule.doctor_id)
    await set_followup_reminder(
        doctor.account_id,
        booking.id,
        date.today() + timedelta(days=10),  # noqa: DTZ011
        "",
        hour=9,
        tz_name="Asia/Shanghai",
    )
    await Booking.filter(id=booking.id).update(status=BookingStatus.CANCELLED)

    assert await run_due_reminders() == 1
    assert await SmsMessage.filter(event="followup.reminder").count() == 0
