"""Per-address and per-phone ceilings (issue 13.3, 13.4): registrations from one address, and password
spraying (one password tried against many phones) from one address."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from gualema.settings import Settings
from models.accounts import Account
from tests import factories
from tests.fixtures.api import GraphQLClient

REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { __typename ... on RateLimitedError { limit retryAfterSeconds } }
}"""
LOGIN = """
mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { __typename }
}"""


@pytest.fixture
async def other_address(app: Starlette) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=app, client=("10.20.30.41", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield GraphQLClient(client)


async def _register(gql: GraphQLClient, phone: str) -> dict[str, object]:
    data = await gql.data(REGISTER, {"input": {"phone": phone, "password": "abc12345", "name": "王小明"}})
    return dict(data["register"])


async def test_one_address_registers_at_most_the_hourly_limit_and_another_address_still_can(
    gql: GraphQLClient, other_address: GraphQLClient, settings: Settings
) -> None:
    limit = settings.register_ip_limit_per_hour
    answers = [(await _register(gql, f"1370000{n:04d}"))["__typename"] for n in range(limit + 2)]

    assert answers == ["AuthPayload"] * limit + ["RateLimitedError"] * 2
    refused = await _register(gql, "13700009999")
    assert refused["limit"] == "register-ip-hour"
    assert 0 < int(str(refused["retryAfterSeconds"])) <= 3600
    assert (await _register(other_address, "13700009998"))["__typename"] == "AuthPayload"
    assert await Account.all().count() == limit + 1


async def test_one_phone_is_probed_at_most_the_daily_limit(
    gql: GraphQLClient, other_address: GraphQLClient, settings: Settings
) -> None:
    limit = settings.register_phone_limit_per_day
    await factories.patient_user(phone="13700008888")
    clients = [gql, other_address]
    answers = [(await _register(clients[n % 2], "13700008888"))["__typename"] for n in range(limit + 1)]

    assert answers == ["PhoneTakenError"] * limit + ["RateLimitedError"]


async def test_password_spraying_across_many_phones_hits_the_address_ceiling(
    gql: GraphQLClient, other_address: GraphQLClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A smaller ceiling than production's keeps the scenario short; the rule is the same.
    monkeypatch.setattr(settings, "login_ip_max_failures", 6)
    victims = [await factories.patient_user() for _ in range(8)]

    sprayed = [
        (await gql.data(LOGIN, {"phone": v.account.phone, "password": "Summer2026"}))["login"]["__typename"]
        for v in victims
    ]

    # Each phone was tried once (under the per-phone throttle), yet the address is stopped
    assert sprayed == ["InvalidCredentialsError"] * 6 + ["LoginThrottledError"] * 2
    right = await gql.data(LOGIN, {"phone": victims[7].account.phone, "password": factories.PASSWORD})
    assert right["login"]["__typename"] == "LoginThrottledError"
    elsewhere = await other_address.data(
        LOGIN, {"phone": victims[7].account.phone, "password": factories.PASSWORD}
    )
    assert elsewhere["login"]["__typename"] == "AuthPayload"


async def test_successful_logins_do_not_count_against_the_address(
    gql: GraphQLClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A campus behind one NAT: many people log in rightly from one address
    monkeypatch.setattr(settings, "login_ip_max_failures", 3)
    users = [await factories.patient_user() for _ in range(6)]

    answers = [
        (await gql.data(LOGIN, {"phone": u.account.phone, "password": factories.PASSWORD}))["login"][
            "__typename"
        ]
        for u in users
    ]

    assert answers == ["AuthPayload"] * 6


SEND_CODE = """
mutation($phone: String!) {
  sendLoginCode(phone: $phone) { __typename ... on RateLimitedError { limit } }
}"""


async def test_login_codes_are_limited_per_address_across_phones_and_per_phone_across_addresses(
    gql: GraphQLClient, other_address: GraphQLClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "sms_ip_limit_per_hour", 3)

    from_one_address = [
        (await gql.data(SEND_CODE, {"phone": f"1350000{n:04d}"}))["sendLoginCode"] for n in range(4)
    ]
    # one phone, asked again from another address within the minute
    again = (await other_address.data(SEND_CODE, {"phone": "13500000000"}))["sendLoginCode"]

    assert [r["__typename"] for r in from_one_address] == ["LoginCodeSent"] * 3 + ["RateLimitedError"]
    assert from_one_address[3]["limit"] == "ip-hour"
    assert again == {"__typename": "RateLimitedError", "limit": "phone-minute"}
