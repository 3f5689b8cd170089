"""Token buckets with a concurrency cap and a daily quota, charged and settled atomically.

A request is charged its estimated cost up front; after execution the unused part is refunded and
its concurrency slot released (`settle`). With Redis, both steps are one Lua script each, run by
Redis alone with Redis's own clock, so any number of processes share a bucket without ever letting
it go below zero (decision 164). Without Redis the same arithmetic runs in this process.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis


@dataclass(frozen=True)
class BucketPolicy:
    capacity: int  # cost units the bucket holds
    restore_rate: int  # cost units restored per second
    max_concurrent: int | None = None  # requests of one subject executing at once
    daily_quota: int | None = None  # requests of one subject per local day

    @property
    def window_seconds(self) -> int:
        """How long an empty bucket takes to fill: the window of the RateLimit-Policy header."""
        return max(1, math.ceil(self.capacity / self.restore_rate))


@dataclass(frozen=True)
class Charge:
    allowed: bool
    available: int  # cost units left after this charge (or now, when refused)
    retry_after: int = 0  # seconds, when refused
    limit: str = ""  # "cost", "concurrency" or "daily" when refused
    # The policy applied when it is not the subject's own: this process's share while Redis is away.
    share: BucketPolicy | None = None


@dataclass(frozen=True)
class Day:
    """The local day a daily quota counts, and the seconds until it ends."""

    label: str
    seconds_left: int


class Buckets(Protocol):
    async def charge(self, subject: str, cost: int, policy: BucketPolicy, day: Day) -> Charge: ...

    async def settle(self, subject: str, refund: int, policy: BucketPolicy, charge: Charge) -> int: ...


@dataclass
class _State:
    tokens: float
    at: float
    running: int = 0
    days: dict[str, int] = field(default_factory=dict)


class InProcessBuckets:
    """One process's buckets; the clock is `time.monotonic` unless a test gives another."""

    def __init__(self, clock: object = time.monotonic) -> None:
        self.clock = clock
        self.states: dict[str, _State] = {}

    def _refilled(self, subject: str, policy: BucketPolicy) -> _State:
        now: float = self.clock()  # type: ignore[operator]
        state = self.states.get(subject)
        if state is None:
            state = self.states[subject] = _State(tokens=float(policy.capacity), at=now)
        state.tokens = min(policy.capacity, state.tokens + max(0.0, now - state.at) * policy.restore_rate)
        state.at = now
        return state

    async def charge(self, subject: str, cost: int, policy: BucketPolicy, day: Day) -> Charge:
        state = self._refilled(subject, policy)
        available = int(state.tokens)
        if policy.max_concurrent is not None and state.running >= policy.max_concurrent:
            return Charge(False, available, 1, "concurrency")
        used = state.days.get(day.label, 0)
        if policy.daily_quota is not None and used >= policy.daily_quota:
            return Charge(False, available, day.seconds_left, "daily")
        if state.tokens < cost:
            return Charge(False, available, math.ceil((cost - state.tokens) / policy.restore_rate), "cost")
        state.tokens -= cost
        state.running += 1
        state.days = {day.label: used + 1}  # only today's count is kept
        return Charge(True, int(state.tokens))

    async def settle(self, subject: str, refund: int, policy: BucketPolicy, charge: Charge) -> int:  # noqa: ARG002 - the Buckets shape; FallbackBuckets reads it
        state = self._refilled(subject, policy)
        state.tokens = min(policy.capacity, state.tokens + max(0, refund))
        state.running = max(0, state.running - 1)
        return int(state.tokens)


_CHARGE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cost, capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local max_running, quota, day_left = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(s[1]) or capacity
local at = tonumber(s[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
if max_running > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= max_running then
  return {0, math.floor(tokens), 1, 'concurrency'}
end
if quota > 0 and tonumber(redis.call('GET', KEYS[3]) or '0') >= quota then
  return {0, math.floor(tokens), day_left, 'daily'}
end
if tokens < cost then
  return {0, math.floor(tokens), math.ceil((cost - tokens) / rate), 'cost'}
end
tokens = tokens - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 600)
if quota > 0 then
  redis.call('INCR', KEYS[3])
  redis.call('EXPIRE', KEYS[3], day_left + 3600)
end
return {1, math.floor(tokens), 0, ''}
"""

_SETTLE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local refund, capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(s[1]) or capacity
local at = tonumber(s[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate + math.max(0, refund))
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then
  redis.call('DECR', KEYS[2])
end
return math.floor(tokens)
"""


class RedisBuckets:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._charge = redis.register_script(_CHARGE)
        self._settle = redis.register_script(_SETTLE)

    def _keys(self, subject: str, day: str = "") -> list[str]:
        base = f"{self.prefix}:rl:{subject}"
        return [f"{base}:bucket", f"{base}:running", f"{base}:day:{day}"]

    async def charge(self, subject: str, cost: int, policy: BucketPolicy, day: Day) -> Charge:
        allowed, available, retry, limit = await self._charge(
            keys=self._keys(subject, day.label),
            args=[
                cost,
                policy.capacity,
                policy.restore_rate,
                policy.max_concurrent or 0,
                policy.daily_quota or 0,
                day.seconds_left,
            ],
        )
        reason = limit.decode() if isinstance(limit, bytes) else str(limit)
        return Charge(bool(allowed), int(available), int(retry), reason)

    async def settle(self, subject: str, refund: int, policy: BucketPolicy, charge: Charge) -> int:  # noqa: ARG002 - the Buckets shape; FallbackBuckets reads it
        return int(
            await self._settle(
                keys=self._keys(subject)[:2], args=[refund, policy.capacity, policy.restore_rate]
            )
        )
