"""A domain error raised where the field has no union member for it is still a typed answer.

Each case below was a masked INTERNAL_SERVER_ERROR before: the answer is now a GraphQL error with
`extensions.code` BAD_USER_INPUT / NOT_FOUND / FORBIDDEN and a message that starts in Chinese, on every
database alike.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from graphql import GraphQLError

import schema.root  # noqa: F401
from gualema.graphql_schema import domain_error_answer
from models.errors import DomainError, InvalidInput, NotAllowed, NotFound
from tests import factories
from tests.fixtures.api import GraphQLClient

CHINESE_FIRST = re.compile(r"^[\u4e00-\u9fff]")


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


def assert_typed(body: dict[str, Any], code: str) -> None:
    assert codes(body) == [code], body
    assert CHINESE_FIRST.match(body["errors"][0]["message"]), body


async def test_a_doctor_asking_for_another_doctors_session_bookings_is_told_not_found(
    gql: GraphQLClient,
) -> None:
    _, me = await factories.doctor()
    other, _ = await factories.doctor()
    session = await factories.session(doctor_row=other)
    body = await gql.as_(me.token)(
        "query($id: ID!) { sessionBookings(scheduleId: $id) { id } }", {"id": str(session.id)}
    )
    assert_typed(body, "NOT_FOUND")


async def test_marking_too_many_notifications_read_is_bad_input(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()
    ids = [str(n) for n in range(1, 502)]
    body = await gql.as_(patient.token)(
        "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }", {"ids": ids}
    )
    assert_typed(body, "BAD_USER_INPUT")
    assert body["errors"][0]["extensions"]["field"] == "ids"


async def test_a_reversed_schedules_range_is_bad_input(gql: GraphQLClient) -> None:
    body = await gql('{ schedules(dateFrom: "2026-12-10", dateTo: "2026-12-01") { id } }')
    assert_typed(body, "BAD_USER_INPUT")


async def test_an_over_long_phone_at_login_is_a_typed_answer(gql: GraphQLClient) -> None:
    body = await gql(
        'mutation($phone: String!) { login(phone: $phone, password: "x") { __typename } }',
        {"phone": "1" * 5000},
    )
    assert "errors" not in body or codes(body) == ["BAD_USER_INPUT"], body
    if "errors" not in body:
        assert body["data"]["login"]["__typename"].endswith("Error")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
async def test_a_schedule_at_the_ends_of_the_calendar_is_refused_as_bad_input(
    gql: GraphQLClient, day: str
) -> None:
    admin = await factories.admin_user()
    doctor, _ = await factories.doctor()
    kind = await factories.registration_type()
    body = await gql.as_(admin.token)(
        """mutation($input: CreateScheduleInput!) {
             createSchedule(input: $input) { __typename ... on InvalidInputError { field } }
           }""",
        {
            "input": {
                "doctorId": str(doctor.id),
                "registrationTypeId": str(kind.id),
                "roomId": str(doctor.room_id),
                "date": day,
                "period": "MORNING",
            }
        },
    )
    assert {"data": body["data"]} == {
        "data": {"createSchedule": {"__typename": "InvalidInputError", "field": "date"}}
    }


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (
            'mutation { register(input: {phone: "13800000000", password: "secret123", name: "a\\u0000b"}) '
            "{ __typename } }",
            {},
        ),
        (
            "mutation($input: RegisterInput!) { register(input: $input) { __typename } }",
            {"input": {"phone": "13800000000", "password": "secret123", "name": "a\u0000b"}},
        ),
        ("query($f: ID!) { mapPoints(floorId: $f) { id } }", {"f": "1\u0000"}),
        ('{ schedules(dateFrom: "2026-12-01", dateTo: "2026-12-02", doctorId: "1\\u0000") { id } }', {}),
    ],
    ids=["literal", "variable", "id variable", "id literal"],
)
async def test_nul_in_any_string_is_refused_before_any_resolver_runs(
    gql: GraphQLClient, query: str, variables: dict[str, Any]
) -> None:
    body = await gql(query, variables)
    assert body.get("data") is None
    assert_typed(body, "BAD_USER_INPUT")


def _all_subclasses(kind: type[DomainError]) -> set[type[DomainError]]:
    found = set()
    for sub in kind.__subclasses__():
        found |= {sub, *_all_subclasses(sub)}
    return found


def test_every_domain_error_the_code_defines_has_a_client_code() -> None:
    # Imported for their DomainError subclasses: the schema imports every area.

    expected = {InvalidInput: "BAD_USER_INPUT", NotFound: "NOT_FOUND", NotAllowed: "FORBIDDEN"}
    kinds = _all_subclasses(DomainError)
    assert len(kinds) > 30
    for kind in kinds:
        exc = kind.__new__(kind)
        DomainError.__init__(exc, None, field="x")
        answer = domain_error_answer(GraphQLError("x"), exc)
        code = next((c for base, c in expected.items() if isinstance(exc, base)), "BAD_USER_INPUT")
        assert answer.extensions is not None
        assert answer.extensions == answer.extensions | {"code": code}, kind
        assert CHINESE_FIRST.match(answer.message), kind
