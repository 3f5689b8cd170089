from __future__ import annotations

from tests import factories
from tests.fixtures.api import GraphQLClient

LOGIN = """
mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { ... on AuthPayload { accessToken refreshToken } }
}"""
REFRESH = "mutation($token: String!) { refreshToken(token: $token) { __typename } }"
LOGOUT = "mutation($token: String) { logout(refreshToken: $token) }"


async def _session(gql: GraphQLClient, actor: factories.Actor) -> dict[str, str]:
    data = await gql.data(LOGIN, {"phone": actor.account.phone, "password": factories.PASSWORD})
    return dict(data["login"])


async def _refresh(gql: GraphQLClient, token: str) -> str:
    return str((await gql.data(REFRESH, {"token": token}))["refreshToken"]["__typename"])


async def test_logout_with_a_refresh_token_ends_only_that_login(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    phone = await _session(gql, user)
    tablet = await _session(gql, user)

    assert (await gql.as_(phone["accessToken"]).data(LOGOUT, {"token": phone["refreshToken"]}))[
        "logout"
    ] is True

    assert await _refresh(gql, phone["refreshToken"]) == "InvalidRefreshTokenError"
    assert await _refresh(gql, tablet["refreshToken"]) == "AuthPayload"


async def test_logout_without_a_token_ends_every_login_of_the_account(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    first = await _session(gql, user)
    second = await _session(gql, user)

    assert (await gql.as_(first["accessToken"]).data(LOGOUT))["logout"] is True

    assert await _refresh(gql, first["refreshToken"]) == "InvalidRefreshTokenError"
    assert await _refresh(gql, second["refreshToken"]) == "InvalidRefreshTokenError"


async def test_nobody_can_log_out_someone_else(gql: GraphQLClient) -> None:
    victim = await factories.patient_user()
    attacker = await factories.patient_user()
    session = await _session(gql, victim)

    result = await gql.as_(attacker.token).data(LOGOUT, {"token": session["refreshToken"]})

    assert result["logout"] is False
    assert await _refresh(gql, session["refreshToken"]) == "AuthPayload"


async def test_logging_out_needs_a_login(gql: GraphQLClient) -> None:
    body = await gql(LOGOUT)
    assert body["errors"][0]["message"] == "authentication required"


# -- the access token ends with the login, at once (docs/decisions/101)

ME = "{ me { id } }"


async def _status(gql: GraphQLClient, access_token: str) -> int:
    return (await gql.as_(access_token).post(ME)).status_code


async def test_logging_out_refuses_that_access_token_at_once_and_keeps_the_other_devices(
    gql: GraphQLClient,
) -> None:
    user = await factories.patient_user()
    phone = await _session(gql, user)
    tablet = await _session(gql, user)

    await gql.as_(phone["accessToken"]).data(LOGOUT, {"token": phone["refreshToken"]})

    assert await _status(gql, phone["accessToken"]) == 401
    assert await _status(gql, tablet["accessToken"]) == 200


async def test_logging_out_everywhere_refuses_every_access_token_but_not_the_next_login(
    gql: GraphQLClient,
) -> None:
    user = await factories.patient_user()
    first = await _session(gql, user)
    second = await _session(gql, user)

    await gql.as_(first["accessToken"]).data(LOGOUT)
    again = await _session(gql, user)

    assert await _status(gql, first["accessToken"]) == 401
    assert await _status(gql, second["accessToken"]) == 401
    assert await _status(gql, again["accessToken"]) == 200
    body = (await gql.as_(second["accessToken"]).post(ME)).json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
