"""A small graphql-transport-ws client for tests, speaking the protocol like the npm `graphql-ws` does."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets

DEADLINE_SECONDS = 10.0


class GraphQLSocket:
    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection
        self._ids = itertools.count(1)

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        operation_id = str(next(self._ids))
        payload = {"query": query, "variables": variables or {}}
        await self.connection.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": payload}))
        return operation_id

    async def receive(self, within: float = DEADLINE_SECONDS) -> dict[str, Any]:
        """The next protocol message other than ping/pong, within `within` seconds."""
        while True:
            raw = await asyncio.wait_for(self.connection.recv(), within)
            message: dict[str, Any] = json.loads(raw)
            if message["type"] == "ping":
                await self.connection.send(json.dumps({"type": "pong"}))
                continue
            if message["type"] != "pong":
                return message

    async def next_payload(self, operation_id: str, within: float = DEADLINE_SECONDS) -> dict[str, Any]:
        message = await self.receive(within)
        assert message.get("id") == operation_id, message
        assert message["type"] == "next", message
        payload: dict[str, Any] = message["payload"]
        return payload

    async def next_data(
        self, operation_id: str, field: str, within: float = DEADLINE_SECONDS
    ) -> dict[str, Any]:
        payload = await self.next_payload(operation_id, within)
        assert "errors" not in payload, payload
        data: dict[str, Any] = payload["data"][field]
        return data


@asynccontextmanager
async def graphql_socket(url: str, token: str | None) -> AsyncIterator[GraphQLSocket]:
    async with websockets.connect(url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as conn:
        init: dict[str, Any] = {"type": "connection_init"}
        if token:
            init["payload"] = {"Authorization": f"Bearer {token}"}
        await conn.send(json.dumps(init))
        ack = json.loads(await asyncio.wait_for(conn.recv(), DEADLINE_SECONDS))
        assert ack["type"] == "connection_ack", ack
        yield GraphQLSocket(conn)
