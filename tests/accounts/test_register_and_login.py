from __future__ import annotations

from tests import factories
from tests.fixtures.api import GraphQLClient

REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) {
    __typename
    ... on AuthPayload { accessToken refreshToken account { id name phone role } }
    ... on Error { message }
    ... on InvalidInputError { field }
  }
}"""

LOGIN = """
mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) {
    __typename
    ... on AuthPayload { accessToken refreshToken }
    ... on Error { message }
  }
}"""

REFRESH = """
mutation($token: String!) {
  refreshToken(token: $token) {
    __typename
    ... on AuthPayload { accessToken refreshToken }
  }
}"""

ME = "{ me { id name phone role } }"


async def test_a_new_patient_registers_and_reads_their_account_with_a_masked_phone(
    gql: GraphQLClient,
) -> None:
    data = await gql.data(
        REGISTER, {"input": {"phone": "13812345678", "password": "abc12345", "name": "王小明"}}
    )
    payload = data["register"]
    assert payload["__typename"] == "AuthPayload"
    assert payload["account"]["phone"] == "138****5678"
    assert payload["account"]["role"] == "PATIENT"

    me = await gql.as_(payload["accessToken"]).data(ME)
    assert me["me"]["name"] == "王小明"


async def test_registering_a_taken_phone_is_a_typed_error(gql: GraphQLClient) -> None:
    taken = await factories.patient_user()
    data = await gql.data(
        REGISTER, {"input": {"phone": taken.account.phone, "password": "abc12345", "name": "x"}}
    )
    assert data["register"]["__typename"] == "PhoneTakenError"


async def test_a_weak_password_names_the_field(gql: GraphQLClient) -> None:
    data = await gql.data(REGISTER, {"input": {"phone": "13812345679", "password": "123", "name": "x"}})
    assert data["register"] == {
        "__typename": "InvalidInputError",
        "message": "password must have at least 8 characters",
        "field": "password",
    }


async def test_login_with_a_wrong_password_or_disabled_account_is_refused(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    wrong = await gql.data(LOGIN, {"phone": user.account.phone, "password": "nope12345"})
    assert wrong["login"]["__typename"] == "InvalidCredentialsError"

    user.account.disabled = True
    await user.account.save()
    disabled = await gql.data(LOGIN, {"phone": user.account.phone, "password": factories.PASSWORD})
    assert disabled["login"]["__typename"] == "AccountDisabledError"


async def test_refresh_rotates_and_a_reused_token_revokes_the_whole_family(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    first = (await gql.data(LOGIN, {"phone": user.account.phone, "password": factories.PASSWORD}))["login"]

    second = (await gql.data(REFRESH, {"token": first["refreshToken"]}))["refreshToken"]
    assert second["__typename"] == "AuthPayload"
    assert second["refreshToken"] != first["refreshToken"]

    replay = (await gql.data(REFRESH, {"token": first["refreshToken"]}))["refreshToken"]
    assert replay["__typename"] == "InvalidRefreshTokenError"
    # The thief's replay also kills the legitimate holder's newer token.
    after = (await gql.data(REFRESH, {"token": second["refreshToken"]}))["refreshToken"]
    assert after["__typename"] == "InvalidRefreshTokenError"


async def test_me_without_a_token_is_refused_and_a_bad_token_gets_401(gql: GraphQLClient) -> None:
    anonymous = await gql(ME)
    assert anonymous["errors"][0]["message"] == "authentication required"

    response = await gql.as_("not-a-jwt").post(ME)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
