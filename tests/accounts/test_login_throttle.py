from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from tests import factories
from tests.fixtures.api import GraphQLClient

LOGIN = """
mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) {
    __typename
    ... on AuthPayload { accessToken }
    ... on LoginThrottledError { retryAfterSeconds }
  }
}"""

LIMIT = 5  # GUALEMA_LOGIN_MAX_ATTEMPTS default


@pytest.fixture
async def other_address(app: Starlette) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=app, client=("10.20.30.40", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield GraphQLClient(client)


async def _login(gql: GraphQLClient, phone: str, password: str) -> str:
    result = (await gql.data(LOGIN, {"phone": phone, "password": password}))["login"]
    return str(result["__typename"])


async def test_after_five_wrong_passwords_even_the_right_one_waits(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    phone = user.account.phone
    for _ in range(LIMIT):
        assert await _login(gql, phone, "wrong-pass1") == "InvalidCredentialsError"

    throttled = (await gql.data(LOGIN, {"phone": phone, "password": factories.PASSWORD}))["login"]

    assert throttled["__typename"] == "LoginThrottledError"
    assert 0 < throttled["retryAfterSeconds"] <= 15 * 60 + 1


async def test_the_throttle_is_per_phone_and_address(
    gql: GraphQLClient, other_address: GraphQLClient
) -> None:
    user = await factories.patient_user()
    neighbour = await factories.patient_user()
    for _ in range(LIMIT):
        await _login(gql, user.account.phone, "wrong-pass1")

    assert await _login(gql, user.account.phone, factories.PASSWORD) == "LoginThrottledError"
    assert await _login(other_address, user.account.phone, factories.PASSWORD) == "AuthPayload"
    assert await _login(gql, neighbour.account.phone, factories.PASSWORD) == "AuthPayload"


async def test_a_successful_login_starts_the_count_again(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    for _ in range(LIMIT - 1):
        await _login(gql, user.account.phone, "wrong-pass1")
    assert await _login(gql, user.account.phone, factories.PASSWORD) == "AuthPayload"

    for _ in range(LIMIT - 1):
        assert await _login(gql, user.account.phone, "wrong-pass1") == "InvalidCredentialsError"
    assert await _login(gql, user.account.phone, factories.PASSWORD) == "AuthPayload"


async def test_a_burst_of_concurrent_guesses_gets_exactly_the_limit_through(gql: GraphQLClient) -> None:
    user = await factories.patient_user()

    outcomes = await asyncio.gather(*(_login(gql, user.account.phone, f"guess{n}abc") for n in range(12)))

    assert sorted(outcomes) == ["InvalidCredentialsError"] * LIMIT + ["LoginThrottledError"] * (12 - LIMIT)


async def test_unknown_phones_are_throttled_too(gql: GraphQLClient) -> None:
    for _ in range(LIMIT):
        assert await _login(gql, "13111112222", "wrong-pass1") == "InvalidCredentialsError"
    assert await _login(gql, "13111112222", "wrong-pass1") == "LoginThrottledError"
