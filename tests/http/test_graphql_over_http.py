"""/graphql speaks the GraphQL-over-HTTP specification (docs/decisions/010)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import httpx
import pytest
import strawberry

from gualema.graphql_endpoint import GraphQLEndpoint
from gualema.graphql_schema import schema_extensions
from gualema.settings import Settings
from tests.fixtures.api import without_cost
from tests.http.conftest import ClientFactory

GRAPHQL_RESPONSE = "application/graphql-response+json"
MODERN = {"Accept": GRAPHQL_RESPONSE}
LEGACY = {"Accept": "application/json"}


async def test_a_post_query_answers_in_the_media_type_the_client_accepts(http: httpx.AsyncClient) -> None:
    modern = await http.post("/graphql", json={"query": "{ __typename }"}, headers=MODERN)
    legacy = await http.post("/graphql", json={"query": "{ __typename }"}, headers=LEGACY)
    unspecified = await http.post("/graphql", json={"query": "{ __typename }"})

    assert (modern.status_code, modern.headers["content-type"]) == (200, GRAPHQL_RESPONSE)
    assert (legacy.status_code, legacy.headers["content-type"]) == (200, "application/json")
    assert unspecified.headers["content-type"] == "application/json"
    assert without_cost(modern.json()) == without_cost(legacy.json()) == {"data": {"__typename": "Query"}}


async def test_a_get_query_runs_with_its_variables(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/graphql",
        params={"query": "query Q($x: Boolean!) { __typename @include(if: $x) }", "variables": '{"x": true}'},
        headers=MODERN,
    )
    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}


async def test_a_mutation_over_get_is_405_with_allow_post(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", params={"query": "mutation { logout }"}, headers=MODERN)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ __typename", "Syntax Error: Expected Name, found <EOF>."),
        ("{ noSuchField }", "Cannot query field 'noSuchField' on type 'Query'."),
    ],
    ids=["unparsable", "invalid"],
)
async def test_a_document_refused_before_execution_is_400_without_data_for_modern_clients(
    http: httpx.AsyncClient, query: str, message: str
) -> None:
    modern = await http.post("/graphql", json={"query": query}, headers=MODERN)
    assert modern.status_code == 400
    assert modern.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in modern.json()
    assert [e["message"] for e in modern.json()["errors"]] == [message]

    # application/json clients predate the status codes: 200, same body.
    legacy = await http.post("/graphql", json={"query": query}, headers=LEGACY)
    assert legacy.status_code == 200
    assert legacy.json() == modern.json()


async def test_variables_that_do_not_coerce_are_a_request_error(http: httpx.AsyncClient) -> None:
    query = "query($x: Boolean!) { __typename @include(if: $x) }"
    response = await http.post("/graphql", json={"query": query, "variables": {"x": "yes"}}, headers=MODERN)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "Variable '$x' has invalid value: "
                "Boolean cannot represent a non boolean value: 'yes'",
                "locations": [{"line": 1, "column": 7}],
            }
        ]
    }


async def test_a_field_error_is_200_with_data_even_for_modern_clients(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"query": "{ me { id } }"}, headers=MODERN)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == "authentication required"
    assert body["errors"][0]["path"] == ["me"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the request body is empty"),
        (b"   ", "the request body is empty"),
        (b"{not json", "the request body is not valid JSON"),
        (b"\xff\xfe\x00", "the request body is not valid JSON"),
        (b'"a string"', "the request body must be a JSON object"),
        (b"42", "the request body must be a JSON object"),
        (b"[]", "batched requests are not supported"),
        (b'[{"query": "{ __typename }"}]', "batched requests are not supported"),
        (b"{}", "`query` must be a non-empty string"),
        (b'{"query": 1}', "`query` must be a non-empty string"),
        (b'{"query": ""}', "`query` must be a non-empty string"),
        (b'{"query": "{ __typename }", "variables": [1]}', "`variables` must be an object or null"),
        (b'{"query": "{ __typename }", "extensions": "x"}', "`extensions` must be an object or null"),
        (b'{"query": "{ __typename }", "operationName": 5}', "`operationName` must be a string or null"),
        (b'{"query": "query A { __typename }", "operationName": "B"}', 'Unknown operation named "B".'),
    ],
)
@pytest.mark.parametrize("accept", [MODERN, LEGACY], ids=["modern", "legacy"])
async def test_an_ill_formed_request_is_400_with_a_json_error(
    http: httpx.AsyncClient, content: bytes, message: str, accept: dict[str, str]
) -> None:
    response = await http.post(
        "/graphql", content=content, headers={"Content-Type": "application/json", **accept}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == accept["Accept"]
    assert response.json() == {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/graphql", ""],
)
async def test_a_post_body_that_is_not_json_is_415(http: httpx.AsyncClient, content_type: str) -> None:
    response = await http.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_a_json_content_type_with_a_charset_is_accepted(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql",
        content=b'{"query": "{ __typename }"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
async def test_other_methods_are_405(http: httpx.AsyncClient, method: str) -> None:
    response = await http.request(method, "/graphql")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


async def test_a_body_over_the_limit_is_413_whether_declared_or_streamed(client_with: ClientFactory) -> None:
    async with client_with(max_body_bytes=1024) as http:
        padding = "x" * 2000
        declared = await http.post("/graphql", json={"query": "{ __typename }", "variables": {"p": padding}})

        # no Content-Length: the limit must hold while reading
        async def chunks() -> AsyncGenerator[bytes, None]:
            yield b'{"query": "{ __typename }", "variables": {"p": "'
            for _ in range(20):
                yield b"x" * 100
            yield b'"}}'

        streamed = await http.post("/graphql", content=chunks(), headers={"Content-Type": "application/json"})
        within = await http.post("/graphql", json={"query": "{ __typename }", "variables": {"p": "x" * 500}})

    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json() == {
            "errors": [
                {"message": "the body exceeds 1024 bytes", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}
            ]
        }
    assert within.status_code == 200


async def test_a_browser_get_without_query_gets_graphiql_in_development(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "GraphiQL" in response.text


async def test_a_get_without_query_for_an_api_client_is_400(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers=MODERN)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_get_variables_that_are_not_json_are_400(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", params={"query": "{ __typename }", "variables": "{oops"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "`variables` is not valid JSON"


@strawberry.type
class TickQuery:
    @strawberry.field
    def ok(self) -> bool:
        return True


@strawberry.type
class TickSubscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[int, None]:
        yield 1


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_subscription_over_http_is_told_to_use_the_websocket(settings: Settings, method: str) -> None:
    schema = strawberry.Schema(
        query=TickQuery, subscription=TickSubscription, extensions=schema_extensions(settings)
    )
    transport = httpx.ASGITransport(app=GraphQLEndpoint(schema, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        query = "subscription { ticks }"
        if method == "GET":
            response = await http.get("/graphql", params={"query": query}, headers=MODERN)
        else:
            response = await http.post("/graphql", json={"query": query}, headers=MODERN)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "subscriptions need a WebSocket on /graphql (graphql-transport-ws)",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }
