"""A room with a doctor, a session running now, and CONFIRMED bookings checked in through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from models.checkin_codes import sign_code
from tests import factories
from tests.factories import Actor
from tests.fixtures.api import GraphQLClient

CHECK_IN = """
mutation($bookingId: ID!, $code: String!) {
  checkIn(bookingId: $bookingId, code: $code) {
    __typename
    ... on QueueTicket { id label state late returned roomId patientName }
    ... on Error { message }
  }
}"""

CALL_NEXT = """
mutation($roomId: ID!) {
  callNext(roomId: $roomId) {
    __typename
    ... on QueueTicket { id label state callCount patientName }
    ... on Error { message }
  }
}"""

TICKET_FIELDS = "__typename ... on QueueTicket { id label state callCount returned } ... on Error { message }"


def ticket_mutation(name: str) -> str:
    return f"mutation($ticketId: ID!) {{ {name}(ticketId: $ticketId) {{ {TICKET_FIELDS} }} }}"


ISSUE_DISPLAY_TOKEN = """
mutation($roomIds: [ID!]!) {
  issueDisplayToken(input: {roomIds: $roomIds}) {
    __typename
    ... on DisplayToken { token roomIds expiresAt }
    ... on Error { message }
  }
}"""


@dataclass
class Clinic:
    schedule: Any
    doctor: Any
    doctor_login: Actor
    room_id: int
    department_id: int

    def room_code(self) -> str:
        return sign_code("room", self.room_id)


@pytest.fixture
async def clinic() -> Clinic:
    dept = await factories.department(ticket_prefix="A")
    doctor_row, login = await factories.doctor(dept)
    schedule = await factories.clinic_today(doctor_row)
    assert doctor_row.room_id is not None
    return Clinic(schedule, doctor_row, login, doctor_row.room_id, dept.id)


@dataclass
class Arrival:
    owner: Actor
    booking: Any
    ticket_id: str
    label: str


async def arrive(gql: GraphQLClient, clinic: Clinic, name: str = "张小三", **booking: Any) -> Arrival:
    owner = await factories.patient_user(name=name)
    row = await factories.confirmed_booking(clinic.schedule, owner, patient_name=name, **booking)
    data = await gql.as_(owner.token).data(CHECK_IN, {"bookingId": str(row.id), "code": clinic.room_code()})
    ticket = data["checkIn"]
    assert ticket["__typename"] == "QueueTicket", ticket
    return Arrival(owner, row, ticket["id"], ticket["label"])


async def display_token(gql: GraphQLClient, *room_ids: int) -> str:
    admin = await factories.admin_user()
    data = await gql.as_(admin.token).data(ISSUE_DISPLAY_TOKEN, {"roomIds": [str(r) for r in room_ids]})
    token: str = data["issueDisplayToken"]["token"]
    return token
