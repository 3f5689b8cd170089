"""A validly signed token of the wrong shape is an invalid token (401 UNAUTHENTICATED), never a 500;
a refresh token's reuse refuses the access tokens of its whole login too."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from gualema.settings import get_settings
from models.access_tokens import ISSUER
from tests import factories
from tests.fixtures.api import GraphQLClient

ME = "{ me { id } }"
LOGIN = """
mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { ... on AuthPayload { accessToken refreshToken } }
}"""
REFRESH = """
mutation($token: String!) {
  refreshToken(token: $token) { __typename ... on AuthPayload { accessToken refreshToken } }
}"""


def _signed(**overrides: Any) -> str:
    """A token signed with the server's own secret, so only its claims can be wrong."""
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "1",
        "role": "patient",
        "iat": time.time(),
        "exp": int(time.time()) + 600,
        "jti": "abc",
    }
    claims.update(overrides)
    return jwt.encode(claims, get_settings().secret_key.get_secret_value(), algorithm="HS256")


WRONG_SHAPES = {
    "sub not numeric": {"sub": "admin"},
    "sub fullwidth digits": {"sub": "１"},
    "sub padded": {"sub": " 1"},
    "sub a number": {"sub": 1},
    "sub a list": {"sub": ["1"]},
    "sub enormous": {"sub": "9" * 40},
    "role a list": {"role": ["admin"]},
    "role an object": {"role": {"admin": True}},
    "exp a string": {"exp": "tomorrow"},
    "iat a string": {"iat": "now"},
    "iat far future": {"iat": 1e300},
    "rooms not a list": {"rooms": "1,2"},
    "rooms strings": {"rooms": ["1"]},
    "rooms negative": {"rooms": [-1]},
    "rooms booleans": {"rooms": [True]},
    "jti a number": {"jti": 7},
    "fam an object": {"fam": {"a": 1}},
}


@pytest.mark.parametrize("claims", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
async def test_a_signed_token_with_wrong_claim_types_is_refused_as_unauthenticated(
    gql: GraphQLClient, claims: dict[str, Any]
) -> None:
    response = await gql.as_(_signed(**claims)).post(ME)

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_well_formed_signed_token_still_reads_the_account(gql: GraphQLClient) -> None:
    user = await factories.patient_user()

    data = await gql.as_(_signed(sub=str(user.id))).data(ME)

    assert data["me"]["id"] == str(user.id)


async def test_reusing_a_refresh_token_refuses_the_access_tokens_that_login_issued(
    gql: GraphQLClient,
) -> None:
    # Given a login on the phone, refreshed once (the thief keeps the first refresh token)
    user = await factories.patient_user()
    first = (await gql.data(LOGIN, {"phone": user.account.phone, "password": factories.PASSWORD}))["login"]
    second = (await gql.data(REFRESH, {"token": first["refreshToken"]}))["refreshToken"]
    other_login = (await gql.data(LOGIN, {"phone": user.account.phone, "password": factories.PASSWORD}))[
        "login"
    ]
    for token in (first["accessToken"], second["accessToken"]):
        assert (await gql.as_(token).post(ME)).status_code == 200

    # When the used refresh token comes back
    replay = (await gql.data(REFRESH, {"token": first["refreshToken"]}))["refreshToken"]
    assert replay["__typename"] == "InvalidRefreshTokenError"

    # Then every access token of that login is refused, and another login of the account is not
    for token in (first["accessToken"], second["accessToken"]):
        refused = await gql.as_(token).post(ME)
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await gql.as_(other_login["accessToken"]).data(ME))["me"]["id"] == str(user.id)
