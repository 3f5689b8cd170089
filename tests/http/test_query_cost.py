"""The cost rule over HTTP with the real schema: ordinary pages and the client kit pass, the seven-alias
`schedules` document from issue 13 is refused with QUERY_TOO_COSTLY before anything executes."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse

from gualema.graphql_schema import schema_for
from gualema.query_cost import OperationCosts, operation_cost
from gualema.settings import Settings
from tests import factories
from tests.fixtures.api import REPOSITORY, GraphQLClient

GRAPHQL_RESPONSE = "application/graphql-response+json"
SOME_MONDAY = date(2026, 3, 2)  # costs depend on the length of a range, not on its dates

SCHEMA = schema_for(Settings())._schema
MAX_COST = Settings().max_query_cost
KIT_OPERATIONS = sorted((REPOSITORY / "clients" / "operations").rglob("*.graphql"))

# What the mini-program asks for a day's sessions (clients/operations/mini-program/schedules.graphql).
SESSION_FIELDS = "id doctorId date period fee remaining status slots { id start end remaining bookable }"


def seven_aliases_over_two_months() -> str:
    start = SOME_MONDAY
    end = start + timedelta(days=61)
    aliases = " ".join(
        f'd{n}: schedules(dateFrom: "{start}", dateTo: "{end}") {{ {SESSION_FIELDS} }}' for n in range(7)
    )
    return "{ " + aliases + " }"


def cost_of(text: str, variables: dict[str, Any] | None = None) -> int:
    document = parse(text)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return operation_cost(SCHEMA, document, operation, variables)


async def test_the_seven_alias_schedules_document_is_refused_before_execution(gql: GraphQLClient) -> None:
    # Given a hospital with a session in the range
    await factories.session()

    # When anyone asks for seven aliases of two months of sessions with their slots
    response = await gql.post(seven_aliases_over_two_months(), Accept=GRAPHQL_RESPONSE)

    # Then it is refused as a request error, with its cost, and nothing was executed (no data at all)
    body = response.json()
    assert response.status_code == 400
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 7 * (1 + 500 * 88),
        "maxCost": MAX_COST,
    }


async def test_a_signed_in_caller_gets_the_same_refusal_and_is_not_charged_for_it(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()
    response = await gql.as_(patient.token).post(seven_aliases_over_two_months())
    assert (response.status_code, "data" in response.json()) == (200, False)  # plain JSON: 200, no data
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["QUERY_TOO_COSTLY"]
    # the bucket is untouched: a following ordinary query reports the whole capacity minus its own cost
    after = await gql.as_(patient.token)("{ me { id } }")
    assert after["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] >= (
        after["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] - 2
    )


async def test_my_bookings_with_a_page_of_twenty_from_a_variable_passes(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()
    query = (REPOSITORY / "clients/operations/mini-program/my-bookings.graphql").read_text()

    body = await gql.as_(patient.token)(query, {"first": 20})

    assert "errors" not in body
    assert body["data"] == {"myBookings": {"edges": []}}
    assert (
        body["extensions"]["cost"]["requestedQueryCost"]
        == cost_of(query, {"first": 20})
        == 1 + 1 + 20 * (1 + 5)
    )


async def test_the_admin_bookings_list_passes_at_its_largest_page(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    query = (REPOSITORY / "clients/operations/admin/bookings.graphql").read_text()

    body = await gql.as_(admin.token)(query, {"first": 100})

    assert "errors" not in body
    assert body["data"] == {"bookings": {"edges": []}}


async def test_a_week_of_a_departments_sessions_with_slots_passes(gql: GraphQLClient) -> None:
    schedule = await factories.session()
    query = (REPOSITORY / "clients/operations/mini-program/schedules.graphql").read_text()
    variables = {
        "dateFrom": schedule.date.isoformat(),
        "dateTo": (schedule.date + timedelta(days=6)).isoformat(),
        "departmentId": str(schedule.department_id),
    }

    data = await gql.data(query, variables)

    assert [row["id"] for row in data["schedules"]] == [str(schedule.id)]


async def test_a_week_with_every_field_of_sessions_and_slots_passes(gql: GraphQLClient) -> None:
    # The release-hour browse of issue 18 (bench/browse.py): a department's week, every field shown
    schedule = await factories.session()
    query = """query Week($dept: ID!, $from: Date!, $to: Date!) {
      schedules(departmentId: $dept, dateFrom: $from, dateTo: $to) {
        id doctorId date period startsAt endsAt capacity fee status remaining
        slots { id start end capacity remaining deskRemaining followupRemaining staffRemaining bookable }
      }
    }"""
    week = {"from": schedule.date.isoformat(), "to": (schedule.date + timedelta(days=6)).isoformat()}

    data = await gql.data(query, {"dept": str(schedule.department_id), **week})

    assert [row["id"] for row in data["schedules"]] == [str(schedule.id)]


async def test_two_months_of_sessions_with_every_slot_is_refused_and_without_slots_passes(
    gql: GraphQLClient,
) -> None:
    start = SOME_MONDAY
    end = start + timedelta(days=61)
    with_slots = f'{{ schedules(dateFrom: "{start}", dateTo: "{end}") {{ {SESSION_FIELDS} }} }}'
    without = f'{{ schedules(dateFrom: "{start}", dateTo: "{end}") {{ id date period remaining }} }}'

    refused = await gql.post(with_slots)
    passed = await gql(without)

    assert [e["extensions"]["code"] for e in refused.json()["errors"]] == ["QUERY_TOO_COSTLY"]
    assert "errors" not in passed


def sample_variables(text: str) -> dict[str, Any]:
    """What a client sends: a week for date ranges, the operation's defaults for pages, an ID for IDs."""
    today = SOME_MONDAY
    samples = {"dateFrom": today.isoformat(), "dateTo": (today + timedelta(days=6)).isoformat(), "first": 20}
    names = [
        v.variable.name.value
        for d in parse(text).definitions
        for v in getattr(d, "variable_definitions", None) or ()
    ]
    return {name: samples.get(name, "1") for name in names if name in samples or name.endswith("Id")}


@pytest.mark.parametrize("path", KIT_OPERATIONS, ids=lambda path: str(Path(path).relative_to(REPOSITORY)))
def test_every_client_kit_operation_costs_less_than_the_limit(path: Path) -> None:
    text = path.read_text()
    assert cost_of(text, sample_variables(text)) <= MAX_COST


async def test_a_kit_operation_is_answered_over_http_with_its_cost(http: httpx.AsyncClient) -> None:
    patient = await factories.patient_user()
    query = (REPOSITORY / "clients/operations/mini-program/departments.graphql").read_text()
    response = await http.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {patient.token}"}
    )
    assert response.status_code == 200
    assert response.json()["extensions"]["cost"]["requestedQueryCost"] == cost_of(query)


def test_a_cost_is_kept_per_document_and_the_values_its_bounds_read() -> None:
    # Given a page size from a variable, and the same document with other variables beside it
    costs = OperationCosts()
    text = "query Mine($n: Int, $note: String) { myBookings(first: $n) { edges { node { id } } } }"
    document = parse(text)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]

    def cost(variables: dict[str, Any]) -> int:
        return costs.cost(SCHEMA, text, "Mine", document, operation, variables)

    # Then each page size has its own cost, a variable no bound reads changes nothing, and a
    # remembered figure equals a fresh computation
    assert cost({"n": 5}) == cost_of(text, {"n": 5})
    assert cost({"n": 50}) == cost_of(text, {"n": 50}) > cost({"n": 5})
    assert cost({"n": 5, "note": "a"}) == cost({"n": 5, "note": "b"}) == cost_of(text, {"n": 5})
    [plan] = costs.plans.values()
    assert plan.read == ("n",)
    assert len(plan.by_values) == 2


def test_a_document_whose_bounds_read_no_variable_is_costed_once() -> None:
    costs = OperationCosts()
    text = (
        "mutation Book($slot: ID!, $key: String!) "
        "{ bookSlot(slotId: $slot, patientId: 1, idempotencyKey: $key) { __typename } }"
    )
    document = parse(text)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for n in range(3):
        costs.cost(SCHEMA, text, None, document, operation, {"slot": str(n), "key": f"k{n}"})
    [plan] = costs.plans.values()
    assert (plan.read, list(plan.by_values)) == ((), [""])
