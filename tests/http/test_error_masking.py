"""Unexpected exceptions reach the client as "Unexpected error."; refusals it must act on stay readable.

A small schema with resolvers that fail on purpose runs behind the real endpoint and extensions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
import strawberry
from strawberry.permission import BasePermission
from strawberry.types.info import Info

from gualema.graphql_endpoint import GraphQLEndpoint
from gualema.graphql_schema import schema_extensions
from gualema.settings import Settings
from tests.fixtures.api import without_cost

MODERN = {"Accept": "application/graphql-response+json"}


class NeverAllowed(BasePermission):
    message = "only an administrator may do this"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: object, info: Info, **kwargs: object) -> bool:  # noqa: ARG002 - strawberry's signature
        return False


@strawberry.type
class Query:
    @strawberry.field
    def crashes(self) -> str:
        raise RuntimeError("database password is hunter2")

    @strawberry.field
    def crashes_with_value_error(self) -> str:
        raise ValueError("internal detail")

    @strawberry.field(permission_classes=[NeverAllowed])
    def guarded(self) -> str:
        return "secret"

    @strawberry.field
    def fine(self) -> str:
        return "ok"

    @strawberry.field
    def when(self, at: datetime) -> str:
        return at.isoformat()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    schema = strawberry.Schema(query=Query, extensions=schema_extensions(settings))
    transport = httpx.ASGITransport(app=GraphQLEndpoint(schema, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_a_crashing_resolver_is_masked_and_the_rest_of_the_query_still_answers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/graphql", json={"query": "{ fine crashes }"}, headers=MODERN)
    assert response.status_code == 200
    assert without_cost(response.json()) == {
        "data": None,
        "errors": [
            {
                "message": "Unexpected error.",
                "locations": [{"line": 1, "column": 8}],
                "path": ["crashes"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR"},
            }
        ],
    }
    assert "hunter2" not in response.text


async def test_a_value_error_inside_a_resolver_is_masked_too(client: httpx.AsyncClient) -> None:
    body = (await client.post("/graphql", json={"query": "{ crashesWithValueError }"})).json()
    assert [e["message"] for e in body["errors"]] == ["Unexpected error."]


async def test_a_permission_refusal_keeps_its_message_and_code(client: httpx.AsyncClient) -> None:
    body = (await client.post("/graphql", json={"query": "{ guarded }"})).json()
    assert body["errors"][0]["message"] == "only an administrator may do this"
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}


async def test_a_scalar_that_does_not_parse_is_reported_not_masked(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "query($at: DateTime!) { when(at: $at) }", "variables": {"at": "next tuesday"}},
        headers=MODERN,
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["message"].startswith("Variable '$at' has invalid value")
    assert "Unexpected error" not in error["message"]
