"""GraphQL documents and small steps shared by the booking scenarios."""

from __future__ import annotations

import secrets
from typing import Any

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
