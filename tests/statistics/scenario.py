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
from models.reactions import change_booking
from models.scheduling import Schedule, Slot
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
