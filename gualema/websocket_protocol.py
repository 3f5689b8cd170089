"""uvicorn's WebSocket protocol, keeping less per idle connection (decision 272).

A waiting-room display holds its socket open all day and receives a few frames a minute. uvicorn's
sansio protocol keeps, per connection, the parsed handshake request and response (two header maps,
about 4 KiB of Python objects, never read again once the connection is open) and an asyncio.Queue
plus an asyncio.Event (five deques of about 700 bytes each) for a stream that holds at most one
message at a time. This subclass drops the handshake after it is answered and uses a list-backed
queue and a flag-backed event with the same methods. Served by `python -m gualema serve`
(`ws=LeanWebSocketProtocol`); uvicorn is pinned, and tests/realtime/test_websocket_protocol.py
exercises the methods uvicorn calls.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn._types import ASGIReceiveEvent, ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class ReceiveQueue:
    """What uvicorn uses of asyncio.Queue: put_nowait, get, empty (one consumer, the ASGI app)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[ASGIReceiveEvent] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: ASGIReceiveEvent) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> ASGIReceiveEvent:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items


class WritableFlag:
    """What uvicorn uses of asyncio.Event for `writable`: set, clear, is_set, wait."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        await waiter
        return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = ReceiveQueue()  # type: ignore[assignment]
        self.writable = WritableFlag()  # type: ignore[assignment]

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if self.handshake_complete and hasattr(self, "response"):
            # Answered: the handshake's request and response are not read again. The request's
            # headers are emptied too, since websockets' parser still holds the request itself.
            self.request.headers.clear()
            del self.request, self.response
