"""Subscriptions end with their token (issue 13.7): expiry and revocation close the WebSocket, and
with it every subscription on it, with a close code and reason a client can act on."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import websockets

from gualema.session_watch import TOKEN_EXPIRED, TOKEN_REVOKED
from gualema.settings import Settings, get_settings
from models.access_tokens import issue_access_token
from tests import factories
from tests.fixtures.api import GraphQLClient, LiveServer
from tests.fixtures.graphql_ws import DEADLINE_SECONDS, GraphQLSocket, graphql_socket

NOTIFICATIONS = "subscription { notifications { id } }"
MY_WAITLIST = "subscription { myWaitlist { id } }"
LOGIN = """
mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { ... on AuthPayload { accessToken refreshToken } }
}"""
REFRESH = "mutation($token: String!) { refreshToken(token: $token) { __typename } }"
LOGOUT_EVERYWHERE = "mutation { logout }"


@pytest.fixture(autouse=True)
def quick_checks(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # The live server shares this settings object: check revocations often, so scenarios end fast.
    monkeypatch.setattr(settings, "ws_session_check_seconds", 0.1)
    monkeypatch.setattr(settings, "revocation_refresh_seconds", 0.1)


async def closed_with(socket: GraphQLSocket) -> tuple[int, str]:
    """Reads until the server closes the socket; its close code and reason."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(_read_until_closed(socket), DEADLINE_SECONDS)
    frame = closed.value.rcvd
    assert frame is not None
    return frame.code, frame.reason


async def _read_until_closed(socket: GraphQLSocket) -> None:
    while True:
        await socket.connection.recv()


async def test_an_expiring_token_ends_every_subscription_on_its_socket_with_4401(
    live_server: LiveServer,
) -> None:
    user = await factories.patient_user()
    token, _ = issue_access_token(
        get_settings().secret_key.get_secret_value(),
        subject=user.id,
        role="patient",
        lifetime=timedelta(seconds=2),
    )
    async with graphql_socket(live_server.ws_url, token) as socket:
        await socket.subscribe(NOTIFICATIONS)
        await socket.subscribe(MY_WAITLIST)

        assert await closed_with(socket) == TOKEN_EXPIRED == (4401, "token expired")


async def test_logout_everywhere_ends_open_subscriptions_with_4403(
    gql: GraphQLClient, live_server: LiveServer
) -> None:
    user = await factories.patient_user()
    async with graphql_socket(live_server.ws_url, user.token) as socket:
        waitlist = await socket.subscribe(MY_WAITLIST)
        assert await socket.next_data(waitlist, "myWaitlist") == []  # live

        assert (await gql.as_(user.token).data(LOGOUT_EVERYWHERE))["logout"] is True

        assert await closed_with(socket) == TOKEN_REVOKED == (4403, "token revoked")


async def test_a_reused_refresh_token_ends_the_sockets_of_that_login_only(
    gql: GraphQLClient, live_server: LiveServer
) -> None:
    user = await factories.patient_user()
    credentials = {"phone": user.account.phone, "password": factories.PASSWORD}
    stolen = (await gql.data(LOGIN, credentials))["login"]
    other = (await gql.data(LOGIN, credentials))["login"]
    async with (
        graphql_socket(live_server.ws_url, stolen["accessToken"]) as stolen_socket,
        graphql_socket(live_server.ws_url, other["accessToken"]) as other_socket,
    ):
        stolen_op = await stolen_socket.subscribe(MY_WAITLIST)
        other_op = await other_socket.subscribe(MY_WAITLIST)
        await stolen_socket.next_data(stolen_op, "myWaitlist")
        await other_socket.next_data(other_op, "myWaitlist")

        # The refresh token is used, then replayed
        await gql.data(REFRESH, {"token": stolen["refreshToken"]})
        assert (await gql.data(REFRESH, {"token": stolen["refreshToken"]}))["refreshToken"] == {
            "__typename": "InvalidRefreshTokenError"
        }

        assert await closed_with(stolen_socket) == TOKEN_REVOKED
        # The other login's socket still serves a subscription started now
        later = await other_socket.subscribe(MY_WAITLIST)
        assert await other_socket.next_data(later, "myWaitlist") == []


async def test_an_expired_token_cannot_open_a_socket(live_server: LiveServer) -> None:
    user = await factories.patient_user()
    token, _ = issue_access_token(
        get_settings().secret_key.get_secret_value(),
        subject=user.id,
        role="patient",
        lifetime=timedelta(seconds=-60),
    )
    with pytest.raises(websockets.ConnectionClosed) as refused:
        await _open(live_server.ws_url, token)
    assert refused.value.rcvd is not None
    assert refused.value.rcvd.code == 4403


async def _open(url: str, token: str) -> None:
    async with graphql_socket(url, token):
        pass
