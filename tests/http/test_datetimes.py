"""Every DateTime a client reads carries the hospital's offset (+08:00), whatever zone the database
or a resolver handed over (issue 13.10)."""

from __future__ import annotations

import re

from tests import factories
from tests.booking.operations import book, first_slot
from tests.fixtures.api import GraphQLClient

SHANGHAI = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+08:00$")
LOGIN = """
mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { ... on AuthPayload { accessTokenExpiresAt } }
}"""
MY_BOOKINGS = "{ myBookings(first: 5) { edges { node { slotStart slotEnd createdAt history { at } } } } }"


async def test_times_read_from_the_database_and_computed_are_rendered_at_plus_eight(
    gql: GraphQLClient,
) -> None:
    owner = await factories.patient_user()
    person = await factories.patient(owner)
    schedule = await factories.session(capacity=2)
    await book(gql, owner.token, (await first_slot(schedule.id)).id, person.id)

    login = await gql.data(LOGIN, {"phone": owner.account.phone, "password": factories.PASSWORD})
    bookings = await gql.as_(owner.token).data(MY_BOOKINGS)

    node = bookings["myBookings"]["edges"][0]["node"]
    rendered = [
        login["login"]["accessTokenExpiresAt"],
        node["slotStart"],
        node["slotEnd"],
        node["createdAt"],
        *(entry["at"] for entry in node["history"]),
    ]
    assert [value for value in rendered if not SHANGHAI.match(value)] == []
