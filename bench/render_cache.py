"""Render each change of a channel once per process and share the result among its subscribers.

The fan-out benchmark's reference renderer (bench/fanout.py); the application shares board objects
by message identity instead (schema.queueing.SharedBoards, decision 095). Kept here, not in realtime/,
because nothing but the benchmark uses it (decision 139).

Strawberry executes a subscription's selection set once per subscriber per event, so 1000 displays
of one room would each re-read and re-render the same board. A subscriber instead asks this cache
for (channel, seq, variant): the first caller renders, concurrent callers await the same render
(single flight), later callers get the stored result. `variant` separates renderings that differ by
something other than the change, such as a hash of the selection set or a viewer's role; never put
per-viewer data in a shared variant.

Only the latest sequence number of each (channel, variant) is kept, and at most `max_entries`
(channel, variant) pairs (least recently used first out), so memory stays bounded however many changes
go by. A caller asking for an older seq than the stored one is behind: it gets a fresh, uncached
render. A failed render is not cached; its concurrent waiters see the same exception.

Yielding the same object to every subscriber is also what lets the GraphQL layer execute the selection
set once per change instead of once per subscriber (decision 053; prototype in bench/fanout.py).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

Rendered = TypeVar("Rendered")


class RenderCache(Generic[Rendered]):
    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self.renders = 0  # how many times a render function actually ran (for tests and benches)
        self._latest: OrderedDict[tuple[str, Hashable], tuple[int, asyncio.Future[Rendered]]] = OrderedDict()

    async def get_or_render(
        self,
        channel: str,
        seq: int,
        render: Callable[[], Awaitable[Rendered]],
        variant: Hashable = None,
    ) -> Rendered:
        key = (channel, variant)
        entry = self._latest.get(key)
        if entry is not None and entry[0] == seq:
            self._latest.move_to_end(key)
            # Shielded so that one subscriber leaving does not cancel the render the others await.
            return await asyncio.shield(entry[1])
        if entry is not None and entry[0] > seq:
            self.renders += 1
            return await render()
        future: asyncio.Future[Rendered] = asyncio.ensure_future(self._render(render))
        self._latest[key] = (seq, future)
        self._latest.move_to_end(key)
        while len(self._latest) > self.max_entries:
            self._latest.popitem(last=False)
        try:
            return await asyncio.shield(future)
        except Exception:
            if self._latest.get(key, (None, None))[1] is future:
                del self._latest[key]
            raise

    def forget(self, channel: str) -> None:
        for key in [key for key in self._latest if key[0] == channel]:
            del self._latest[key]

    async def _render(self, render: Callable[[], Awaitable[Rendered]]) -> Rendered:
        self.renders += 1
        return await render()
