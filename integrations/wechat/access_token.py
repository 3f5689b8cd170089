"""The mini-program access token, shared by every process and refreshed by one of them at a time.

WeChat keeps a single valid token per app (plus the previous one for five minutes after a refresh),
and caps `/cgi-bin/token` at 2000 calls a day: processes that each fetched their own would invalidate
each other's. The token lives in a shared store (Redis when configured, a database row otherwise);
whoever finds it stale takes the store's lease, fetches, saves and releases; the others wait for the
saved token instead of fetching (docs/decisions/151).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from integrations.wechat.errors import SYSTEM_BUSY, WeChatError

# Refreshed this long before WeChat's expiry, so no call goes out with a token about to lapse.
REFRESH_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: datetime

    def fresh(self, now: datetime | None = None) -> bool:
        return self.expires_at - REFRESH_MARGIN > (now or datetime.now(UTC))


class TokenStore(Protocol):
    async def load(self) -> AccessToken | None: ...

    async def lease(self, owner: str, seconds: float) -> bool:
        """True when `owner` now holds the refresh lease (exclusive until `seconds` pass or release)."""

    async def save(self, token: AccessToken) -> None: ...

    async def release(self, owner: str) -> None: ...

    async def forget(self, value: str) -> None:
        """Drop the stored token if it is still `value` (a newer one saved meanwhile stays)."""


class SharedAccessToken:
    def __init__(
        self,
        store: TokenStore,
        *,
        lease_seconds: float = 10.0,
        wait_seconds: float = 15.0,
        poll_seconds: float = 0.05,
    ) -> None:
        self.store = store
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self._owner = secrets.token_hex(8)
        self._local: AccessToken | None = None
        self._lock = asyncio.Lock()  # one refresh attempt per process at a time

    async def get(self, fetch: Callable[[], Awaitable[AccessToken]]) -> AccessToken:
        if self._local is not None and self._local.fresh():
            return self._local
        async with self._lock:
            deadline = time.monotonic() + self.wait_seconds
            while True:
                stored = await self.store.load()
                if stored is not None and stored.fresh():
                    self._local = stored
                    return stored
                if await self.store.lease(self._owner, self.lease_seconds):
                    try:
                        stored = await self.store.load()  # saved between our load and our lease?
                        if stored is None or not stored.fresh():
                            stored = await fetch()
                            await self.store.save(stored)
                    finally:
                        await self.store.release(self._owner)
                    self._local = stored
                    return stored
                if time.monotonic() > deadline:
                    raise WeChatError(SYSTEM_BUSY, "access token refresh by another process did not finish")
                await asyncio.sleep(self.poll_seconds)  # another process is fetching: wait for its token

    async def invalidate(self, value: str) -> None:
        if self._local is not None and self._local.value == value:
            self._local = None
        await self.store.forget(value)


class RedisTokenStore:
    """`redis` is a redis.asyncio client; keys live under `prefix`."""

    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
    _FORGET = (
        "local v = redis.call('get', KEYS[1]) "
        "if v and cjson.decode(v)['value'] == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
    )

    def __init__(self, redis: Any, prefix: str, appid: str) -> None:
        self.redis = redis
        self.key = f"{prefix}:wechat:{appid}:access-token"
        self.lease_key = f"{self.key}:lease"

    async def load(self) -> AccessToken | None:
        raw = await self.redis.get(self.key)
        if raw is None:
            return None
        data = json.loads(raw)
        return AccessToken(data["value"], datetime.fromisoformat(data["expires_at"]))

    async def lease(self, owner: str, seconds: float) -> bool:
        return bool(await self.redis.set(self.lease_key, owner, nx=True, px=int(seconds * 1000)))

    async def save(self, token: AccessToken) -> None:
        ttl = max(1, int((token.expires_at - datetime.now(UTC)).total_seconds()))
        payload = json.dumps({"value": token.value, "expires_at": token.expires_at.isoformat()})
        await self.redis.set(self.key, payload, ex=ttl)

    async def release(self, owner: str) -> None:
        await self.redis.eval(self._RELEASE, 1, self.lease_key, owner)

    async def forget(self, value: str) -> None:
        await self.redis.eval(self._FORGET, 1, self.key, value)
