"""Parsed and validated documents are reused across requests, within bounds on entries and tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from graphql import get_introspection_query, parse

from gualema.document_cache import DocumentCache, token_count
from gualema.graphql_endpoint import GraphQLEndpoint
from gualema.graphql_schema import schema_for
from gualema.settings import Settings
from tests.fixtures.api import GraphQLClient, without_cost


@pytest.fixture
def cache() -> DocumentCache:
    return DocumentCache(max_entries=3, max_tokens=100)


@pytest.fixture
async def client(settings: Settings, cache: DocumentCache) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=GraphQLEndpoint(schema_for(settings, cache), settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_a_repeated_query_is_parsed_and_validated_once(
    client: httpx.AsyncClient, cache: DocumentCache
) -> None:
    for _ in range(5):
        response = await client.post("/graphql", json={"query": "{ __typename }"})
        assert without_cost(response.json()) == {"data": {"__typename": "Query"}}
    entry = cache.entries["{ __typename }"]
    assert (cache.misses, cache.hits) == (1, 4)
    assert entry.validation_errors == []


async def test_a_cached_invalid_document_keeps_failing_the_same_way(client: httpx.AsyncClient) -> None:
    bodies = [(await client.post("/graphql", json={"query": "{ nope }"})).json() for _ in range(3)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["errors"][0]["message"] == "Cannot query field 'nope' on type 'Query'."


async def test_the_cache_keeps_at_most_its_entries_least_recently_used_out_first(
    client: httpx.AsyncClient, cache: DocumentCache
) -> None:
    queries = [f"{{ a{i}: __typename }}" for i in range(5)]
    for query in queries:
        await client.post("/graphql", json={"query": query})
    assert list(cache.entries) == queries[-3:]


def test_the_cache_keeps_at_most_its_token_budget() -> None:
    cache = DocumentCache(max_entries=100, max_tokens=30)
    for i in range(10):
        query = f"{{ a{i}: __typename b: __typename }}"  # 9 tokens with <SOF> and <EOF>
        cache.put(query, parse(query))
    assert cache.tokens <= 30
    assert len(cache.entries) == 3
    too_big = "{ " + " ".join(f"f{i}" for i in range(40)) + " }"
    cache.put(too_big, parse(too_big))
    assert too_big not in cache.entries
    assert token_count(parse("{ a }")) == 5


async def test_graphiqls_introspection_query_fits_the_default_limits(gql: GraphQLClient) -> None:
    data = await gql.data(get_introspection_query(descriptions=True))
    assert data["__schema"]["queryType"]["name"] == "Query"
