"""A subscriber's bounded buffer: a slow or stalled consumer costs at most `capacity` messages.

Fan-out puts into mailboxes without awaiting, so one stalled WebSocket never delays the others.
When a mailbox is full it drops everything it holds and keeps a single resync message in their place
(drop-and-resync rather than coalesce-to-latest: the realtime layer cannot know which messages are
deltas, while a fresh snapshot is always correct); messages that arrive after the resync queue behind
it as usual, until the mailbox is full again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from realtime.messages import ResyncReason, is_resync, resync_message

# Ends the consumer's iteration when the broker stops.
_CLOSED: dict[str, Any] = {"type": "closed"}


class Mailbox:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a mailbox holds at least one message")
        self.capacity = capacity
        self.overflows = 0
        # Loop time since which this mailbox has missed nothing: when the subscription went live (set
        # by the broker), then, each time the consumer takes a resync, when that resync was put in.
        # A snapshot load begun after it, plus the messages that follow, is complete.
        self.live_since = float("inf")
        self._messages: deque[dict[str, Any]] = deque()
        self._resync_put_at = 0.0  # at most one resync is ever queued: each one clears the rest
        self._closed = False
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._messages)

    def offer(self, message: dict[str, Any]) -> None:
        if self._closed:
            return
        if len(self._messages) >= self.capacity:
            self.overflows += 1
            self.offer_resync("overflow")
            return
        self._messages.append(message)
        self._wake()

    def offer_resync(self, reason: ResyncReason) -> None:
        if self._closed:
            return
        self._messages.clear()
        self._messages.append(resync_message(reason))
        self._resync_put_at = asyncio.get_running_loop().time()
        self._wake()

    def close(self) -> None:
        self._closed = True
        self._messages.clear()
        self._messages.append(_CLOSED)
        self._wake()

    def __aiter__(self) -> Mailbox:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while not self._messages:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        message = self._messages.popleft()
        if message is _CLOSED:
            self._messages.append(_CLOSED)  # stays closed for every later read
            raise StopAsyncIteration
        if is_resync(message):
            self.live_since = self._resync_put_at
        return message

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
