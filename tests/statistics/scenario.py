"""Steps shared by the statistics scenarios: sessions over a month and what patients do with them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from models.booking import Booking, BookingStatus
from models.booking.placement import BookingPolicy, BookingRequest, place_booking
from models.catalogue import Doctor
from models.clock import utcnow
from models.queueing import QueueTicket, TicketState, open_ticket
from models.reactions import change_booking, change_ticket, move_entry
from models.scheduling import Schedule, Slot
from models.waitlist.entries import WaitlistEntry, WaitlistMode, WaitlistStatus
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.payments.fakes import Providers
from tests.payments.operations import OPENID, PAY_BOOKING

B = BookingStatus
POLICY = BookingPolicy(hold_minutes=15, max_per_account_per_day=5)

KPIS = """
query($from: Date!, $to: Date!, $groupBy: KpiGroupBy!, $departmentId: ID, $doctorId: ID) {
  kpis(from: $from, to: $to, groupBy: $groupBy, departmentId: $departmentId, doctorId: $doctorId) {
    __typename
    ... on KpiTable {
      rows {
        period periodStart periodEnd departmentId doctorId groupName
        registrations { value previous }
        revenue { value previous }
        completed { value previous }
        utilization { numerator denominator value previous { numerator denominator value } }
        consumedUtilization { numerator denominator }
        successRate { numerator denominator value previous { numerator denominator } }
        noShowRate { numerator denominator value previous { numerator denominator } }
        paymentConversion { numerator denominator }
        bookedInAdvanceRate { numerator denominator value }
        waitlistConversion { numerator denominator }
        waitAfterArrival { count p50 p90 previous { count } }
        consultationLength { count p50 p90 }
        cancellationRate { numerator denominator }
        lateCancellationRate { numerator denominator }
        failures { reason count previous }
      }
    }
    ... on Error { message }
  }
}"""


@dataclass
class Person:
    actor: factories.Actor
    patient_id: int


async def people(count: int) -> list[Person]:
    out = []
    for i in range(count):
        actor = await factories.patient_user(name=f"统计{i}")
        out.append(Person(actor, (await factories.patient(actor, name=f"统计{i}")).id))
    return out


async def session_on(doctor: Doctor, days_from_now: int, *, capacity: int, fee: int) -> tuple[Schedule, Slot]:
    """A session `days_from_now` ahead (negative: past), released a month before it starts."""
    schedule = await factories.session(
        capacity=capacity, fee=fee, starts_in=timedelta(days=days_from_now), doctor_row=doctor
    )
    await Schedule.filter(id=schedule.id).update(release_at=schedule.starts_at - timedelta(days=30))
    slot = await Slot.get(schedule_id=schedule.id)
    return await Schedule.get(id=schedule.id), slot


async def place(person: Person, slot: Slot, at: datetime) -> Booking:
    request = BookingRequest(
        account_id=person.actor.account.id,
        slot_id=slot.id,
        patient_id=person.patient_id,
        idempotency_key=secrets.token_hex(8),
    )
    return (await place_booking(request, POLICY, now=at)).booking


async def move(booking: Booking, *targets: BookingStatus, at: datetime | None = None) -> Booking:
    fresh = await Booking.get(id=booking.id)
    for target in targets:
        async with in_transaction():
            await change_booking(fresh, target, actor_id=None, reason="scenario", at=at or utcnow())
    return fresh


async def paid_booking(gql: GraphQLClient, providers: Providers, person: Person, slot: Slot) -> Booking:
    """Booked, then paid with WeChat Pay (the fake provider's notification)."""
    booking = await place(person, slot, utcnow())
    data = await gql.as_(person.actor.token).data(
        PAY_BOOKING, {"bookingId": str(booking.id), "provider": "WECHAT_PAY", "openId": OPENID}
    )
    number = data["payBooking"]["order"]["outTradeNo"]
    assert (await providers.wechat.notify_paid(number)).status_code == 204
    return booking


async def consult(
    booking: Booking, *, checked_in_at: datetime, called_at: datetime, finished_at: datetime
) -> QueueTicket:
    """Checked in, called, seen and finished through the room queue (the booking follows the ticket)."""
    fresh = await Booking.get(id=booking.id)
    schedule = await Schedule.get(id=fresh.schedule_id)
    async with in_transaction():
        await change_booking(fresh, B.CHECKED_IN, actor_id=None, reason="scenario", at=checked_in_at)
        ticket = await open_ticket(
            fresh,
            room_id=schedule.room_id,
            label=f"A{fresh.queue_number:03d}",
            display_name="统*",
            late=False,
            now=checked_in_at,
        )
    steps = (
        (TicketState.CALLED, {"called_at": called_at, "call_count": 1}, called_at),
        (TicketState.IN_CONSULTATION, {"started_at": called_at}, called_at),
        (TicketState.DONE, {"finished_at": finished_at}, finished_at),
    )
    for state, updates, at in steps:
        async with in_transaction():
            await change_ticket(ticket, state, actor_id=None, updates=updates, at=at)
    return ticket


async def waiter(person: Person, schedule: Schedule, ends: WaitlistStatus) -> WaitlistEntry:
    """One patient in the waitlist of a session, whose entry then ends as `ends`."""
    now = utcnow()
    entry = await WaitlistEntry.create(
        account_id=person.actor.account.id,
        patient_id=person.patient_id,
        schedule_id=schedule.id,
        department_id=schedule.department_id,
        visit_date=schedule.date,
        mode=WaitlistMode.OFFER,
        status=WaitlistStatus.WAITING,
        deadline=schedule.starts_at,
        joined_at=now,
    )
    async with in_transaction():
        await move_entry(entry, ends, reason="scenario")
    return entry
