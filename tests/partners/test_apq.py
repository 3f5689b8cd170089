"""Automatic persisted queries in Apollo's protocol: miss, register, hit, mismatch, GET."""

from __future__ import annotations

import secrets

import httpx

from tests.partners.conftest import apq, get_params, sha256


def unique_query() -> str:
    # A new document per test: the APQ store outlives a test (and may be Redis, shared by the run).
    return f"query Departments{secrets.token_hex(4)} {{ departments {{ id name }} }}"


async def test_an_unknown_hash_is_not_found_then_registered_with_its_text_then_found(
    http: httpx.AsyncClient,
) -> None:
    query = unique_query()
    hashed = {"extensions": apq(sha256(query))}

    miss = await http.post("/graphql", json=hashed)
    assert miss.status_code == 200
    assert miss.json() == {
        "errors": [
            {"message": "PERSISTED_QUERY_NOT_FOUND", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
        ]
    }
    assert miss.headers["cache-control"] == "private, no-cache, must-revalidate"

    registered = await http.post("/graphql", json={"query": query, **hashed})
    assert registered.status_code == 200
    assert "errors" not in registered.json()

    hit = await http.post("/graphql", json=hashed)
    assert hit.status_code == 200
    assert hit.json()["data"] == registered.json()["data"]


async def test_a_hash_that_is_not_its_texts_is_refused_and_nothing_is_stored(http: httpx.AsyncClient) -> None:
    query = unique_query()
    wrong = sha256(query + " ")

    mismatch = await http.post("/graphql", json={"query": query, "extensions": apq(wrong)})

    assert mismatch.status_code == 400
    assert mismatch.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    later = await http.post("/graphql", json={"extensions": apq(wrong)})
    assert later.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_document_that_does_not_validate_is_never_stored(http: httpx.AsyncClient) -> None:
    query = f"query Broken{secrets.token_hex(4)} {{ departments {{ noSuchField }} }}"
    hashed = {"extensions": apq(sha256(query))}

    refused = await http.post("/graphql", json={"query": query, **hashed})
    assert "noSuchField" in refused.json()["errors"][0]["message"]

    again = await http.post("/graphql", json=hashed)
    assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_hash_only_get_is_answered_not_taken_for_a_graphiql_visit(http: httpx.AsyncClient) -> None:
    query = unique_query()
    params = get_params(extensions=apq(sha256(query)))
    browser_like = {"Accept": "*/*"}

    miss = await http.get("/graphql", params=params, headers=browser_like)
    assert miss.status_code == 200
    assert miss.headers["content-type"].startswith("application/json")
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    registered = await http.get("/graphql", params={**params, "query": query}, headers=browser_like)
    assert "errors" not in registered.json()
    hit = await http.get("/graphql", params=params, headers=browser_like)
    assert hit.status_code == 200
    assert hit.json()["data"] == registered.json()["data"]


async def test_a_persisted_mutation_over_get_stays_405(http: httpx.AsyncClient) -> None:
    mutation = f"mutation Out{secrets.token_hex(4)} {{ logout }}"
    await http.post("/graphql", json={"query": mutation, "extensions": apq(sha256(mutation))})

    over_get = await http.get("/graphql", params=get_params(extensions=apq(sha256(mutation))))

    assert over_get.status_code == 405
    assert over_get.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_a_malformed_persisted_query_extension_is_a_bad_request(http: httpx.AsyncClient) -> None:
    for extension in ({"version": 2, "sha256Hash": "0" * 64}, {"version": 1, "sha256Hash": "XYZ"}):
        response = await http.post("/graphql", json={"extensions": {"persistedQuery": extension}})
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
