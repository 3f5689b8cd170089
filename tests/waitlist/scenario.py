"""Steps shared by the waitlist scenarios: a full session, people waiting, seats freed."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gualema.settings import Settings
from models.booking import Booking, BookingStatus
from models.jobs import Job
from models.scheduling import Slot
from resolvers.waitlist import run_waitlist
from tests import factories
from tests.booking.operations import book
from tests.fixtures.api import GraphQLClient

JOIN = """
mutation($input: JoinWaitlistInput!) {
  joinWaitlist(input: $input) {
    __typename
    ... on WaitlistEntry { id status position bookingId deadline }
    ... on Error { message }
  }
}"""

LEAVE = """
mutation($id: ID!) {
  leaveWaitlist(entryId: $id) { __typename ... on WaitlistEntry { id status } ... on Error { message } }
}"""

CANCEL = """
mutation($input: CancelBookingInput!) {
  cancelBooking(input: $input) { __typename ... on Booking { id status } ... on Error { message } }
}"""


@dataclass
class Person:
    actor: factories.Actor
    patient_id: int


async def person(name: str = "候补者") -> Person:
    actor = await factories.patient_user(name=name)
    row = await factories.patient(actor, name=name)
    return Person(actor, row.id)


async def full_session(gql: GraphQLClient, seats: int, fee: int = 0) -> tuple[Any, list[Person], list[int]]:
    """A released session whose every seat is booked; returns it, the holders and their bookings."""
    # Three days ahead: the waitlist closes at 23:00 the day before the visit.
    schedule = await factories.session(capacity=seats, fee=fee, starts_in=timedelta(days=3))
    slot = await Slot.filter(schedule_id=schedule.id).first()
    assert slot is not None
    holders = [await person(f"持号{i}") for i in range(seats)]
    booking_ids = []
    for holder in holders:
        result = await book(gql, holder.actor.token, slot.id, holder.patient_id)
        assert result["__typename"] == "Booking", result
        booking_ids.append(int(result["id"]))
    return schedule, holders, booking_ids


async def join(gql: GraphQLClient, who: Person, **target: Any) -> dict[str, Any]:
    data = await gql.as_(who.actor.token).data(JOIN, {"input": {"patientId": str(who.patient_id), **target}})
    result: dict[str, Any] = data["joinWaitlist"]
    return result


async def cancel(gql: GraphQLClient, who: Person, booking_id: int) -> dict[str, Any]:
    data = await gql.as_(who.actor.token).data(
        CANCEL, {"input": {"bookingId": str(booking_id), "reason": "有事"}}
    )
    result: dict[str, Any] = data["cancelBooking"]
    return result


async def drain(settings: Settings, workers: int = 2) -> None:
    """Run the waitlist work in `workers` concurrent workers until no seat job is left."""
    for _ in range(50):
        await asyncio.gather(*(run_waitlist(settings) for _ in range(workers)))
        if not await Job.filter(kind="seat.freed", done_at__isnull=True, failed_at__isnull=True).exists():
            return
    errors = await Job.filter(kind="seat.freed", done_at__isnull=True).values_list("last_error", flat=True)
    raise AssertionError(f"seat jobs were not drained: {errors}")


async def active_bookings(schedule_id: int) -> list[Booking]:
    active = [
        BookingStatus.PENDING_PAYMENT,
        BookingStatus.CONFIRMED,
        BookingStatus.CHECKED_IN,
        BookingStatus.IN_CONSULTATION,
    ]
    return await Booking.filter(schedule_id=schedule_id, status__in=active)


def key() -> str:
    return secrets.token_hex(8)
