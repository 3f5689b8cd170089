"""When a process reloads its copy of a small table: once the copy is older than a given age, one
reload at a time (per event loop), the others waiting for it instead of reloading again. Used by the
access-token revocation list (decision 101) and the partner directory (decision 162)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class ReloadSchedule:
    reloaded_at: float = float("-inf")  # time.monotonic()
    locks: dict[int, asyncio.Lock] = field(default_factory=dict)  # by event loop

    def expire(self) -> None:
        self.reloaded_at = float("-inf")

    async def reload_if_stale(self, every_seconds: float, reload: Callable[[], Awaitable[None]]) -> None:
        if time.monotonic() - self.reloaded_at < every_seconds:
            return
        loop = id(asyncio.get_running_loop())
        lock = self.locks.get(loop)
        if lock is None:
            self.locks.clear()
            lock = self.locks[loop] = asyncio.Lock()
        async with lock:
            started = time.monotonic()
            if started - self.reloaded_at < every_seconds:
                return  # another request reloaded it meanwhile
            await reload()
            self.reloaded_at = started
