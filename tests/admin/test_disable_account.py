from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from gualema.database import dialect
from models.audit import AuditEntry
from tests import factories
from tests.fixtures.api import GraphQLClient, ServerProcess

DISABLE = """
mutation($id: ID!, $reason: String!) {
  disableAccount(accountId: $id, reason: $reason) {
    __typename
    ... on Account { disabled disabledReason }
    ... on Error { message }
  }
}"""
ENABLE = "mutation($id: ID!) { enableAccount(accountId: $id) { __typename ... on Account { disabled } } }"
LOGIN = """
mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { __typename ... on AuthPayload { refreshToken } }
}"""
REFRESH = "mutation($token: String!) { refreshToken(token: $token) { __typename } }"


async def test_a_disabled_account_loses_its_logins_and_comes_back_when_enabled(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    user = await factories.patient_user()
    credentials = {"phone": user.account.phone, "password": factories.PASSWORD}
    session = (await gql.data(LOGIN, credentials))["login"]

    disabled = await gql.as_(admin.token).data(DISABLE, {"id": str(user.id), "reason": "冒用他人身份"})

    assert disabled["disableAccount"] == {
        "__typename": "Account",
        "disabled": True,
        "disabledReason": "冒用他人身份",
    }
    assert (await gql.data(LOGIN, credentials))["login"]["__typename"] == "AccountDisabledError"
    refreshed = await gql.data(REFRESH, {"token": session["refreshToken"]})
    assert refreshed["refreshToken"]["__typename"] == "InvalidRefreshTokenError"

    enabled = await gql.as_(admin.token).data(ENABLE, {"id": str(user.id)})

    assert enabled["enableAccount"] == {"__typename": "Account", "disabled": False}
    assert (await gql.data(LOGIN, credentials))["login"]["__typename"] == "AuthPayload"
    entries = (
        await AuditEntry.all().order_by("id").values("actor_id", "action", "target_id", "before", "after")
    )
    assert [(e["actor_id"], e["action"], e["target_id"]) for e in entries] == [
        (admin.id, "account.disable", str(user.id)),
        (admin.id, "account.enable", str(user.id)),
    ]
    assert (entries[0]["before"]["disabled"], entries[0]["after"]["disabled"]) == (False, True)
    assert entries[0]["after"]["phone"] == user.account.phone[:3] + "****" + user.account.phone[-4:]


async def test_disabling_twice_writes_once_and_admins_cannot_lock_themselves_out(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    user = await factories.patient_user()
    client = gql.as_(admin.token)

    await client.data(DISABLE, {"id": str(user.id), "reason": "spam"})
    again = await client.data(DISABLE, {"id": str(user.id), "reason": "spam"})
    self_disable = await client.data(DISABLE, {"id": str(admin.id), "reason": "oops"})
    missing = await client.data(DISABLE, {"id": "99999", "reason": "x"})
    no_reason = await client.data(DISABLE, {"id": str(user.id), "reason": " "})

    assert again["disableAccount"]["__typename"] == "Account"
    assert await AuditEntry.filter(action="account.disable").count() == 1
    assert self_disable["disableAccount"] == {
        "__typename": "NotAllowedError",
        "message": "administrators cannot disable their own account",
    }
    assert missing["disableAccount"]["__typename"] == "NotFoundError"
    assert no_reason["disableAccount"]["__typename"] == "InvalidInputError"


async def test_a_patient_cannot_disable_anyone(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()
    other = await factories.patient_user()
    body = await gql.as_(patient.token)(DISABLE, {"id": str(other.id), "reason": "x"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_disabled_account_cannot_use_the_access_token_it_already_holds(gql: GraphQLClient) -> None:
    # A scalper's script keeps its token; disabling the account stops it now, not in 15 minutes.
    admin = await factories.admin_user()
    scalper = await factories.patient_user()
    bystander = await factories.patient_user()

    await gql.as_(admin.token).data(DISABLE, {"id": str(scalper.id), "reason": "号贩子脚本"})

    assert (await gql.as_(scalper.token).post("{ me { id } }")).status_code == 401
    assert (await gql.as_(bystander.token).post("{ me { id } }")).status_code == 200


async def test_another_server_process_refuses_the_token_of_a_disabled_account(
    server_processes: Callable[..., ServerProcess],
) -> None:
    if dialect() == "sqlite":
        pytest.skip("SQLite is the single-process embedded default; scale-out needs PostgreSQL or MariaDB")
    # Each process reloads the revocations when its copy is older than this: 0 makes it every
    # request, so the test needs no waiting.
    fresh = {"GUALEMA_REVOCATION_REFRESH_SECONDS": "0"}
    first, second = server_processes(extra_env=fresh), server_processes(extra_env=fresh)
    admin = await factories.admin_user()
    user = await factories.patient_user()
    me = {"query": "{ me { id } }"}
    bearer = {"Authorization": f"Bearer {user.token}"}
    async with httpx.AsyncClient(timeout=30) as client:
        before = await client.post(f"{second.url}/graphql", json=me, headers=bearer)
        await client.post(
            f"{first.url}/graphql",
            json={"query": DISABLE, "variables": {"id": str(user.id), "reason": "spam"}},
            headers={"Authorization": f"Bearer {admin.token}"},
        )
        after = await client.post(f"{second.url}/graphql", json=me, headers=bearer)

    assert before.status_code == 200
    assert after.status_code == 401
