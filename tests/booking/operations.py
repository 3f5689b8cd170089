"""GraphQL documents and small steps shared by the booking scenarios."""

from __future__ import annotations

import secrets
from typing import Any

from models.booking import ACTIVE, Booking, BookingQuota
from models.scheduling import Slot
from tests.fixtures.api import GraphQLClient

BOOK = """
mutation($input: BookSlotInput!) {
  bookSlot(input: $input) {
    __typename
    ... on Booking { id status fhirStatus queueNumber slotStart slotEnd fee expiresAt }
    ... on Error { message }
    ... on NotYetReleased { releaseAt }
    ... on QuotaExceeded { limit }
    ... on Blacklisted { endsAt }
  }
}"""

CANCEL = """
mutation($input: CancelBookingInput!) {
  cancelBooking(input: $input) {
    __typename
    ... on Booking { id status cancelReason history { fromStatus toStatus reason actorId } }
    ... on Error { message }
    ... on InvalidStatusTransition { fromStatus toStatus }
  }
}"""


def book_input(slot_id: int, patient_id: int, key: str | None = None) -> dict[str, Any]:
    return {
        "input": {
            "slotId": str(slot_id),
            "patientId": str(patient_id),
            "idempotencyKey": key or secrets.token_hex(8),
        }
    }


async def book(
    gql: GraphQLClient, token: str, slot_id: int, patient_id: int, key: str | None = None
) -> dict[str, Any]:
    data = await gql.as_(token).data(BOOK, book_input(slot_id, patient_id, key))
    result: dict[str, Any] = data["bookSlot"]
    return result


async def first_slot(schedule_id: int) -> Slot:
    return await Slot.filter(schedule_id=schedule_id).order_by("starts_at").first()  # type: ignore[return-value]


async def assert_seats_balance(schedule_id: int) -> None:
    """Never a seat sold twice or lost: online + desk remaining + active bookings == capacity."""
    for slot in await Slot.filter(schedule_id=schedule_id):
        active = await Booking.filter(slot_id=slot.id, status__in=list(ACTIVE)).count()
        assert slot.remaining >= 0
        reserved = slot.desk_remaining + slot.followup_remaining + slot.staff_remaining
        assert slot.remaining + reserved + active == slot.capacity, (
            slot.id,
            slot.remaining,
            active,
        )
    # A request refused after taking its account's quota unit (the seat went meanwhile) gave it back.
    for quota in await BookingQuota.all():
        active = await Booking.filter(
            account_id=quota.account_id, visit_date=quota.visit_date, status__in=list(ACTIVE)
        ).count()
        assert quota.active == active, (quota.account_id, quota.active, active)
