"""A client cannot pick its own address: X-Forwarded-For counts only from the trusted balancer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gualema.cli import server_options
from gualema.settings import Settings
from tests import factories
from tests.fixtures.api import GraphQLClient

LOGIN = """
mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { __typename }
}"""

LIMIT = 5  # GUALEMA_LOGIN_MAX_ATTEMPTS default

Peer = Callable[[str], AbstractAsyncContextManager[GraphQLClient]]


@pytest.fixture
def peer(app: Starlette, settings: Settings) -> Peer:
    """A client connecting from `address`, through the proxy-header rule uvicorn applies when serving."""
    trusted = server_options(settings)["forwarded_allow_ips"]
    behind_rule = ProxyHeadersMiddleware(app, trusted_hosts=trusted)  # type: ignore[arg-type]  # ASGI typings differ

    @asynccontextmanager
    async def connect(address: str) -> AsyncIterator[GraphQLClient]:
        transport = httpx.ASGITransport(app=behind_rule, client=(address, 40000))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield GraphQLClient(client)

    return connect


async def _login(gql: GraphQLClient, phone: str, password: str, forwarded_for: str) -> str:
    response = await gql.http.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"phone": phone, "password": password}},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return str(response.json()["data"]["login"]["__typename"])


async def test_a_spoofed_forwarded_for_does_not_leave_the_throttle(peer: Peer) -> None:
    user = await factories.patient_user()
    async with peer("203.0.113.7") as attacker:
        for n in range(LIMIT):
            await _login(attacker, user.account.phone, "wrong-pass1", f"198.51.100.{n}")

        answer = await _login(attacker, user.account.phone, factories.PASSWORD, "198.51.100.99")

    assert answer == "LoginThrottledError"


async def test_the_balancer_s_forwarded_for_names_the_client(peer: Peer) -> None:
    # The shipped rule trusts the balancer's address (127.0.0.1 by default): behind it, each client is
    # throttled at its own address, not all at the balancer's.
    user = await factories.patient_user()
    async with peer("127.0.0.1") as balancer:
        for _ in range(LIMIT):
            await _login(balancer, user.account.phone, "wrong-pass1", "198.51.100.1")

        throttled = await _login(balancer, user.account.phone, factories.PASSWORD, "198.51.100.1")
        other_client = await _login(balancer, user.account.phone, factories.PASSWORD, "198.51.100.2")

    assert (throttled, other_client) == ("LoginThrottledError", "AuthPayload")
