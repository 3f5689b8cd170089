"""A minimal graphql-transport-ws client, as the npm `graphql-ws` speaks it."""

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

    async def subscribe(self, query: str) -> str:
        operation_id = str(next(self._ids))
        message = {"id": operation_id, "type": "subscribe", "payload": {"query": query}}
        await self.connection.send(json.dumps(message))
        return operation_id

    async def next_payload(
        self, operation_id: str, within_seconds: float = DEADLINE_SECONDS
    ) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads(
                await asyncio.wait_for(self.connection.recv(), within_seconds)
            )
            if message["type"] == "ping":
                await self.connection.send(json.dumps({"type": "pong"}))
                continue
            assert (message.get("id"), message["type"]) == (operation_id, "next"), message
            payload: dict[str, Any] = message["payload"]
            return payload

    async def next_data(
        self, operation_id: str, field: str, within_seconds: float = DEADLINE_SECONDS
    ) -> dict[str, Any]:
        payload = await self.next_payload(operation_id, within_seconds)
        assert "errors" not in payload, payload
        data: dict[str, Any] = payload["data"][field]
        return data


@asynccontextmanager
async def graphql_socket(url: str, token: str) -> AsyncIterator[GraphQLSocket]:
    async with websockets.connect(url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as conn:
        await conn.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        ack = json.loads(await asyncio.wait_for(conn.recv(), DEADLINE_SECONDS))
        assert ack["type"] == "connection_ack", ack
        yield GraphQLSocket(conn)
