"""Shared buckets that degrade to this process's share of each bucket while Redis is unreachable.

Failing open would let a partner spend without limit during an outage; failing closed would turn a
Redis outage into a full outage. Instead each process keeps, in memory, 1/N of every bucket (N the
server processes sharing the limits, `GUALEMA_RATE_LIMIT_PROCESSES`), so the whole deployment stays
near one bucket. Redis is tried again every `retry_seconds`; the first charge it answers ends the
degraded mode (docs/decisions/222).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace

from gualema import metrics
from gualema.rate_limits.buckets import BucketPolicy, Buckets, Charge, Day, InProcessBuckets
from gualema.shared_redis import REDIS_UNREACHABLE

log = logging.getLogger("gualema.rate_limits")


def share_of(policy: BucketPolicy, processes: int) -> BucketPolicy:
    """One process's part of a bucket: the capacity and the rates divided, never below one."""
    if processes <= 1:
        return policy
    return BucketPolicy(
        capacity=max(1, policy.capacity // processes),
        restore_rate=max(1, policy.restore_rate // processes),
        max_concurrent=math.ceil(policy.max_concurrent / processes) if policy.max_concurrent else None,
        daily_quota=math.ceil(policy.daily_quota / processes) if policy.daily_quota else None,
    )


class FallbackBuckets:
    def __init__(
        self,
        shared: Buckets,
        processes: int,
        retry_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shared = shared
        self.local = InProcessBuckets(clock)
        self.processes = processes
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.down_since: float | None = None
        self._next_try = 0.0

    @property
    def degraded(self) -> bool:
        return self.down_since is not None

    async def charge(self, subject: str, cost: int, policy: BucketPolicy, day: Day) -> Charge:
        if not self.degraded or self.clock() >= self._next_try:
            try:
                charge = await self.shared.charge(subject, cost, policy, day)
            except REDIS_UNREACHABLE as exc:
                self._went_down(exc)
            else:
                self._came_back()
                return charge
        share = share_of(policy, self.processes)
        metrics.RATE_LIMIT_FALLBACKS.inc()
        charge = await self.local.charge(subject, min(cost, share.capacity), share, day)
        return replace(charge, share=share)

    async def settle(self, subject: str, refund: int, policy: BucketPolicy, charge: Charge) -> int:
        if charge.share is not None:
            return await self.local.settle(subject, min(refund, charge.share.capacity), charge.share, charge)
        try:
            return await self.shared.settle(subject, refund, policy, charge)
        except REDIS_UNREACHABLE as exc:
            # The refund is lost and the concurrency slot expires in Redis on its own (decision 164).
            self._went_down(exc)
            return charge.available

    def _went_down(self, exc: BaseException) -> None:
        now = self.clock()
        self._next_try = now + self.retry_seconds
        if self.down_since is None:
            self.down_since = now
            metrics.RATE_LIMIT_DEGRADED[0] = 1
            log.warning(
                "rate limits: Redis unreachable (%s: %s); this process now keeps 1/%d of every bucket",
                type(exc).__name__,
                exc,
                self.processes,
            )

    def _came_back(self) -> None:
        if self.down_since is None:
            return
        log.warning(
            "rate limits: Redis answers again after %.1f s; buckets are shared again",
            self.clock() - self.down_since,
        )
        self.down_since = None
        metrics.RATE_LIMIT_DEGRADED[0] = 0
