"""WebSocket handshake policy on /graphql (docs/decisions/013): protocol, authentication, origin.

Handshake-level only: no area has a subscription field that every backend can drive yet.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin, Subprotocol

from tests import factories
from tests.fixtures.api import LiveServer
from tests.http.conftest import ServerFactory

TRANSPORT_WS = Subprotocol("graphql-transport-ws")
LEGACY_WS = Subprotocol("graphql-ws")


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        await ws.recv()
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_a_client_with_a_valid_token_is_acknowledged_and_answered(live_server: LiveServer) -> None:
    user = await factories.patient_user()
    async with connect(live_server.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        assert ws.subprotocol == TRANSPORT_WS
        await send(ws, {"type": "connection_init", "payload": {"Authorization": f"Bearer {user.token}"}})
        assert await receive(ws) == {"type": "connection_ack"}
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_an_anonymous_client_is_acknowledged(live_server: LiveServer) -> None:
    async with connect(live_server.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        await send(ws, {"type": "connection_init"})
        assert await receive(ws) == {"type": "connection_ack"}


@pytest.mark.parametrize("authorization", ["Bearer not-a-token", "Basic eDp5", 42])
async def test_an_invalid_token_closes_the_socket_with_4403(
    live_server: LiveServer, authorization: object
) -> None:
    async with connect(live_server.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        await send(ws, {"type": "connection_init", "payload": {"Authorization": authorization}})
        assert await close_code(ws) == 4403


async def test_the_legacy_protocol_is_refused_by_default(live_server: LiveServer) -> None:
    async with connect(live_server.ws_url, subprotocols=[LEGACY_WS]) as ws:
        assert ws.subprotocol is None
        assert await close_code(ws) == 4406


async def test_a_client_offering_both_protocols_gets_graphql_transport_ws(live_server: LiveServer) -> None:
    async with connect(live_server.ws_url, subprotocols=[LEGACY_WS, TRANSPORT_WS]) as ws:
        assert ws.subprotocol == TRANSPORT_WS


async def test_the_legacy_protocol_works_when_the_setting_enables_it(server_with: ServerFactory) -> None:
    async with (
        server_with(legacy_graphql_ws=True) as server,
        connect(server.ws_url, subprotocols=[LEGACY_WS]) as ws,
    ):
        assert ws.subprotocol == LEGACY_WS
        await send(ws, {"type": "connection_init", "payload": {}})
        assert await receive(ws) == {"type": "connection_ack"}


async def test_a_cross_origin_page_is_refused_unless_its_origin_is_allowed(
    server_with: ServerFactory,
) -> None:
    async with server_with(ws_allowed_origins=["https://admin.example.org"]) as server:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                server.ws_url, subprotocols=[TRANSPORT_WS], origin=Origin("https://evil.example")
            ):
                pass
        assert refused.value.response.status_code == 403

        allowed = Origin("https://admin.example.org")
        async with connect(server.ws_url, subprotocols=[TRANSPORT_WS], origin=allowed) as ws:
            await send(ws, {"type": "connection_init"})
            assert await receive(ws) == {"type": "connection_ack"}

        same_origin = Origin(server.url)
        async with connect(server.ws_url, subprotocols=[TRANSPORT_WS], origin=same_origin) as ws:
            await send(ws, {"type": "connection_init"})
            assert await receive(ws) == {"type": "connection_ack"}


async def test_a_cross_origin_page_is_refused_by_the_default_settings(live_server: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            live_server.ws_url, subprotocols=[TRANSPORT_WS], origin=Origin("https://evil.example")
        ):
            pass
    assert refused.value.response.status_code == 403


async def test_in_development_a_dev_server_on_any_localhost_port_may_open_a_socket(
    server_with: ServerFactory,
) -> None:
    async with server_with(env="development", ws_allowed_origins=[]) as server:
        for origin in ("http://localhost:5173", "http://127.0.0.1:19006", "http://localhost"):
            async with connect(server.ws_url, subprotocols=[TRANSPORT_WS], origin=Origin(origin)) as ws:
                await send(ws, {"type": "connection_init"})
                assert await receive(ws) == {"type": "connection_ack"}
        for origin in (
            "https://evil.example",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example",
        ):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(server.ws_url, subprotocols=[TRANSPORT_WS], origin=Origin(origin)):
                    pass
            assert refused.value.response.status_code == 403


async def test_in_production_localhost_is_refused_unless_listed(server_with: ServerFactory) -> None:
    async with server_with(env="production", ws_allowed_origins=[]) as server:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                server.ws_url, subprotocols=[TRANSPORT_WS], origin=Origin("http://localhost:5173")
            ):
                pass
    assert refused.value.response.status_code == 403
