"""Share one in-flight snapshot load among concurrent subscribers of a channel.

After a Redis reconnection every subscriber of a channel gets a resync at the same moment and would
each read the same snapshot from the database: 1000 displays, 1000 identical queries. With
`await snapshots.run(channel, load, live_since=messages.live_since)` a caller joins a load that is
already running, provided that load began after the caller's mailbox was last complete (subscription
live, or its latest resync taken); otherwise it starts its own, which later callers may join. That
condition keeps sharing correct: a change committed after the shared load began still reaches the
caller as a message with a higher sequence number. A finished load is never reused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

Loaded = TypeVar("Loaded")


class SingleFlight(Generic[Loaded]):
    def __init__(self) -> None:
        self.loads = 0  # how many times a load actually ran (for tests and benches)
        self._running: dict[Hashable, tuple[float, asyncio.Future[Loaded]]] = {}

    async def run(self, key: Hashable, load: Callable[[], Awaitable[Loaded]], *, live_since: float) -> Loaded:
        loop = asyncio.get_running_loop()
        running = self._running.get(key)
        if running is None or running[0] < live_since:
            future = asyncio.ensure_future(self._load(key, load))
            running = (loop.time(), future)
            self._running[key] = running
        # Shielded: one caller giving up must not cancel the load the others await.
        return await asyncio.shield(running[1])

    async def _load(self, key: Hashable, load: Callable[[], Awaitable[Loaded]]) -> Loaded:
        self.loads += 1
        future = asyncio.current_task()
        try:
            return await load()
        finally:
            current = self._running.get(key)
            if current is not None and current[1] is future:
                del self._running[key]
