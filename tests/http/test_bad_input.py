"""Bad input never gets a 5xx or a traceback; each kind gets an error that says what is wrong."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from gualema.settings import Settings
from tests import factories
from tests.fixtures.api import GraphQLClient

ADD_PATIENT = """
mutation($input: AddPatientInput!) {
  addPatient(input: $input) {
    __typename
    ... on Error { message }
    ... on InvalidInputError { field }
  }
}"""


def deep_query(levels: int) -> str:
    # Not valid against the schema (no type nests itself yet); the depth rule measures it all the same.
    return "{ " + "me { " * levels + "id" + " }" * levels + " }"


def battery(settings: Settings) -> list[tuple[str, dict[str, Any]]]:
    """(label, httpx request kwargs) for every kind of bad input we know of."""
    json = {"Content-Type": "application/json"}
    return [
        ("malformed JSON", {"content": b'{"query": ', "headers": json}),
        ("truncated UTF-8", {"content": b'{"query": "\xe6\x8c"}', "headers": json}),
        (
            "wrong content type",
            {"content": b"{ __typename }", "headers": {"Content-Type": "application/graphql"}},
        ),
        ("no content type", {"content": b'{"query": "{ __typename }"}'}),
        ("empty body", {"content": b"", "headers": json}),
        ("oversized body", {"content": b" " * (settings.max_body_bytes + 1), "headers": json}),
        ("JSON null", {"content": b"null", "headers": json}),
        ("deeply nested JSON", {"content": b"[" * 100_000 + b"]" * 100_000, "headers": json}),
        ("query not a string", {"json": {"query": {"a": 1}}}),
        ("unknown field", {"json": {"query": "{ nope }"}}),
        ("unknown argument", {"json": {"query": "{ me(x: 1) { id } }"}}),
        ("syntax error", {"json": {"query": "query {"}}),
        ("invalid UTF-8 escapes", {"json": {"query": '{ __typename(a: "\\ud800") }'}}),
        ("too deep", {"json": {"query": deep_query(settings.max_query_depth + 5)}}),
        ("nested past the parser's recursion", {"json": {"query": "{" + "a{" * 990 + "b" + "}" * 991}}),
        ("nested list literal", {"json": {"query": "{ me(x: " + "[" * 1990 + "]" * 1990 + ") { id } }"}}),
        ("too many tokens", {"json": {"query": "{ " + "__typename " * settings.max_query_tokens + "}"}}),
        (
            "too many aliases",
            {
                "json": {
                    "query": "{ "
                    + " ".join(f"a{i}: __typename" for i in range(settings.max_query_aliases + 1))
                    + " }"
                }
            },
        ),
        ("undeclared variable", {"json": {"query": "{ __typename @include(if: $x) }"}}),
        (
            "variable of an unknown type",
            {"json": {"query": "query($x: Nope) { __typename }", "variables": {"x": 1}}},
        ),
        ("variables not an object", {"json": {"query": "{ __typename }", "variables": "x"}}),
        (
            "huge integer variable",
            {"json": {"query": "query($x: Int) { __typename }", "variables": {"x": 10**30}}},
        ),
        (
            "fragment cycle",
            {"json": {"query": "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"}},
        ),
        ("unknown fragment", {"json": {"query": "{ ...Missing }"}}),
        ("subscription over POST", {"json": {"query": "subscription { __typename }"}}),
        ("unknown operation name", {"json": {"query": "{ __typename }", "operationName": "Other"}}),
        ("batch", {"json": [{"query": "{ __typename }"}] * 3}),
        ("mutation over GET", {"method": "GET", "params": {"query": "mutation { logout }"}}),
        (
            "GET with broken variables",
            {"method": "GET", "params": {"query": "{ __typename }", "variables": "{"}},
        ),
        ("GET without query", {"method": "GET", "headers": {"Accept": "application/json"}}),
        ("DELETE", {"method": "DELETE"}),
        (
            "bad bearer token",
            {"json": {"query": "{ __typename }"}, "headers": {"Authorization": "Bearer nope"}},
        ),
        (
            "not a bearer scheme",
            {"json": {"query": "{ __typename }"}, "headers": {"Authorization": "Basic eDp5"}},
        ),
    ]


async def test_no_bad_input_gets_a_server_error_or_a_traceback(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    problems = []
    for label, request in battery(settings):
        for accept in ("application/graphql-response+json", "application/json"):
            kwargs = dict(request)
            method = kwargs.pop("method", "POST")
            kwargs["headers"] = {"Accept": accept, **kwargs.get("headers", {})}
            response = await http.request(method, "/graphql", **kwargs)
            body = response.text
            if response.status_code >= 500 or "Traceback" in body or 'File "' in body:
                problems.append(f"{label} ({accept}): {response.status_code} {body[:200]}")
                continue
            try:
                errors = response.json()["errors"]
            except (ValueError, KeyError):
                problems.append(f"{label} ({accept}): no JSON errors in {body[:200]!r}")
                continue
            if not errors or not all(isinstance(e.get("message"), str) and e["message"] for e in errors):
                problems.append(f"{label} ({accept}): an error without a message: {errors}")
    assert problems == []


async def test_an_invalid_enum_value_names_the_value_and_the_enum(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    body = await gql.as_(user.token)(
        ADD_PATIENT,
        {
            "input": {
                "name": "王芳",
                "idNumber": factories.resident_id(),
                "phone": "13800000001",
                "relation": "COUSIN",
            }
        },
    )
    assert body == {
        "errors": [
            {
                "message": "Variable '$input' has invalid value at .relation: "
                "Value 'COUSIN' does not exist in 'Relation' enum.",
                "locations": [{"line": 2, "column": 10}],
            }
        ]
    }


async def test_an_id_number_with_a_wrong_check_digit_is_a_typed_error_on_the_field(
    gql: GraphQLClient,
) -> None:
    user = await factories.patient_user()
    valid = factories.resident_id()
    wrong_check_digit = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    data = await gql.as_(user.token).data(
        ADD_PATIENT,
        {
            "input": {
                "name": "王芳",
                "idNumber": wrong_check_digit,
                "phone": "13800000001",
                "relation": "CHILD",
            }
        },
    )
    assert data["addPatient"]["__typename"] == "InvalidInputError"
    assert data["addPatient"]["field"] == "idNumber"
    assert data["addPatient"]["message"]


async def test_a_query_over_a_limit_names_the_limit(gql: GraphQLClient) -> None:
    too_deep = await gql(deep_query(20))
    too_many_aliases = await gql("{ " + " ".join(f"a{i}: __typename" for i in range(16)) + " }")

    assert {"code": "QUERY_TOO_DEEP", "depth": 21, "maxDepth": 12} in [
        e.get("extensions") for e in too_deep["errors"]
    ]
    assert too_many_aliases == {
        "errors": [
            {
                "message": "the document uses 16 aliases, more than the allowed 15",
                "extensions": {"code": "TOO_MANY_ALIASES", "aliases": 16, "maxAliases": 15},
            }
        ]
    }


async def test_input_quoted_in_an_error_is_returned_to_the_client_but_never_logged(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    user = await factories.patient_user()
    id_number = 110105199003071234
    with caplog.at_level(logging.DEBUG):
        body = await gql.as_(user.token)(
            ADD_PATIENT,
            {"input": {"name": "王芳", "idNumber": id_number, "phone": "13800000001", "relation": "CHILD"}},
        )
    assert str(id_number) in body["errors"][0]["message"]  # the client sees what it sent
    assert str(id_number) not in caplog.text
