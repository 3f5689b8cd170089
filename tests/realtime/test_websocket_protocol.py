"""The lean pieces behind a display's socket (decisions 272 and 276): uvicorn's queue and event
replaced by smaller ones with the same behaviour, and `/graphql` WebSockets routed past the HTTP-only
layers while every other WebSocket path still meets the router."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from gualema.websocket_protocol import ReceiveQueue, WritableFlag
from tests.fixtures.api import LiveServer


async def test_the_receive_queue_hands_over_in_order_and_wakes_a_waiting_reader() -> None:
    queue = ReceiveQueue()
    queue.put_nowait({"type": "websocket.connect"})
    queue.put_nowait({"type": "websocket.receive", "text": "1"})
    assert not queue.empty()
    assert (await queue.get())["type"] == "websocket.connect"
    assert (await queue.get())["type"] == "websocket.receive"
    assert queue.empty()

    reader = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not reader.done()
    queue.put_nowait({"type": "websocket.disconnect", "code": 1000})
    assert (await reader)["type"] == "websocket.disconnect"


async def test_the_writable_flag_blocks_while_cleared_and_releases_every_waiter() -> None:
    flag = WritableFlag()
    assert flag.is_set()
    assert await flag.wait()
    flag.clear()
    waiters = [asyncio.ensure_future(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(waiter.done() for waiter in waiters)
    flag.set()
    assert await asyncio.gather(*waiters) == [True, True, True]


async def test_graphql_websockets_are_served_and_other_paths_are_still_refused(
    live_server: LiveServer,
) -> None:
    async with websockets.connect(live_server.ws_url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"

    elsewhere = live_server.ws_url.replace("/graphql", "/graphql-not")
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(elsewhere, subprotocols=["graphql-transport-ws"]):  # type: ignore[list-item]
            pass
