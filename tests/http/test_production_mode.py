"""GUALEMA_ENV=production hides GraphiQL, field suggestions and (by default) introspection."""

from __future__ import annotations

from tests.fixtures.api import without_cost
from tests.http.conftest import ClientFactory

PRODUCTION = {"env": "production", "secret_key": "p" * 40}


async def test_production_serves_no_graphiql(client_with: ClientFactory) -> None:
    async with client_with(**PRODUCTION) as http:
        response = await http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert "GraphiQL" not in response.text


async def test_production_refuses_introspection_by_default_and_can_allow_it(
    client_with: ClientFactory,
) -> None:
    query = {"query": "{ __schema { queryType { name } } }"}
    async with client_with(**PRODUCTION) as http:
        refused = await http.post("/graphql", json=query)
    async with client_with(**PRODUCTION, introspection=True) as http:
        allowed = await http.post("/graphql", json=query)

    assert refused.json()["errors"][0]["message"].startswith("GraphQL introspection has been disabled")
    assert without_cost(allowed.json()) == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_production_drops_did_you_mean(client_with: ClientFactory) -> None:
    async with client_with() as http:
        development = (await http.post("/graphql", json={"query": "{ mee { id } }"})).json()
    async with client_with(**PRODUCTION) as http:
        production = (await http.post("/graphql", json={"query": "{ mee { id } }"})).json()

    assert (
        development["errors"][0]["message"] == "Cannot query field 'mee' on type 'Query'. Did you mean 'me'?"
    )
    assert production["errors"][0]["message"] == "Cannot query field 'mee' on type 'Query'."


async def test_production_drops_enum_suggestions_in_variables(client_with: ClientFactory) -> None:
    mutation = "mutation($input: AddPatientInput!) { addPatient(input: $input) { __typename } }"
    variables = {"input": {"name": "a", "idNumber": "1", "phone": "1", "relation": "SELFF"}}
    async with client_with(**PRODUCTION, introspection=True) as http:
        body = (await http.post("/graphql", json={"query": mutation, "variables": variables})).json()
    assert body["errors"][0]["message"] == (
        "Variable '$input' has invalid value at .relation: Value 'SELFF' does not exist in 'Relation' enum."
    )
