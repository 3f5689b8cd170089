"""Redis away: each process keeps its share of every bucket, says so, and shares again once Redis is
back (decision 222). Redis "goes away" by pointing at a closed port or by closing a relay in front of
the shared server, which keeps running for everyone else."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from urllib.parse import urlparse

import pytest
from redis.asyncio import Redis

from gualema import metrics
from gualema.rate_limits.buckets import BucketPolicy, Day, RedisBuckets
from gualema.rate_limits.fallback import FallbackBuckets
from tests import factories
from tests.conftest import REDIS_URL, RUN_ID
from tests.fixtures.api import free_port
from tests.http.conftest import ClientFactory

TODAY = Day("2026-12-03", 3600)
POLICY = BucketPolicy(capacity=100, restore_rate=10, max_concurrent=4, daily_quota=1000)


def closed_port_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # bound and released: nothing listens there


class Relay:
    """A TCP relay to the shared Redis that can be stopped and started on the same port."""

    def __init__(self, target: str) -> None:
        parsed = urlparse(target)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 6379
        self.database = parsed.path or "/0"
        self.listen_port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.listen_port}{self.database}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.listen_port)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        self.writers.clear()
        await self.server.wait_closed()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        redis_reader, redis_writer = await asyncio.open_connection(self.host, self.port)
        self.writers += [client_writer, redis_writer]

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with suppress(ConnectionError, OSError):
                while chunk := await reader.read(65536):
                    writer.write(chunk)
                    await writer.drain()
            writer.close()

        await asyncio.gather(pipe(client_reader, redis_writer), pipe(redis_reader, client_writer))


@asynccontextmanager
async def redis_at(url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0)
    try:
        yield client
    finally:
        await client.aclose()


async def test_without_redis_a_process_keeps_its_share_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    fallbacks_before = sum(metrics.RATE_LIMIT_FALLBACKS.values.values())
    async with redis_at(closed_port_url()) as unreachable:
        buckets = FallbackBuckets(RedisBuckets(unreachable, RUN_ID), processes=4, retry_seconds=60)

        with caplog.at_level(logging.WARNING, logger="gualema.rate_limits"):
            first = await buckets.charge("key:9", 20, POLICY, TODAY)
            second = await buckets.charge("key:9", 20, POLICY, TODAY)
        settled = await buckets.settle("key:9", 5, POLICY, second)

    assert (first.allowed, first.available) == (True, 5)  # a quarter of 100 is 25; 20 taken
    assert first.share == BucketPolicy(capacity=25, restore_rate=2, max_concurrent=1, daily_quota=250)
    assert (second.allowed, second.limit) == (False, "concurrency")  # a quarter of 4 at once is 1
    assert settled == 10  # the refund went to the share it was charged from
    assert buckets.degraded
    assert metrics.RATE_LIMIT_DEGRADED == [1]
    assert sum(metrics.RATE_LIMIT_FALLBACKS.values.values()) == fallbacks_before + 2
    warnings = [r.getMessage() for r in caplog.records if r.name == "gualema.rate_limits"]
    assert len(warnings) == 1  # said once per outage, not per request
    assert "Redis unreachable" in warnings[0]
    assert "1/4" in warnings[0]


async def test_limits_are_shared_again_once_redis_answers(caplog: pytest.LogCaptureFixture) -> None:
    if not REDIS_URL:
        pytest.skip("needs the shared Redis (GUALEMA_TEST_REDIS_URL) behind a relay")
    relay = Relay(REDIS_URL)
    await relay.start()
    async with redis_at(relay.url) as through_relay:
        buckets = FallbackBuckets(
            RedisBuckets(through_relay, f"{RUN_ID}-fallback"), processes=2, retry_seconds=0
        )
        subject = f"key:{RUN_ID}"

        shared_before = await buckets.charge(subject, 30, POLICY, TODAY)
        await buckets.settle(subject, 0, POLICY, shared_before)
        await relay.stop()
        during = await buckets.charge(subject, 10, POLICY, TODAY)
        await buckets.settle(subject, 0, POLICY, during)
        degraded_during = buckets.degraded
        await relay.start()
        with caplog.at_level(logging.WARNING, logger="gualema.rate_limits"):
            shared_after = await buckets.charge(subject, 10, POLICY, TODAY)
        await buckets.settle(subject, 0, POLICY, shared_after)
        await relay.stop()

    assert (shared_before.share, shared_before.available) == (None, 70)
    assert degraded_during
    assert during.share == BucketPolicy(capacity=50, restore_rate=5, max_concurrent=2, daily_quota=500)
    assert during.available == 40  # half of 100, less 10
    assert shared_after.share is None
    assert 59 <= shared_after.available <= 62  # the shared bucket again: 70 less 10, plus refill
    assert not buckets.degraded
    assert metrics.RATE_LIMIT_DEGRADED == [0]
    assert any("answers again" in r.getMessage() for r in caplog.records)


async def test_a_request_is_answered_and_reported_from_the_share_while_redis_is_away(
    client_with: ClientFactory,
) -> None:
    patient = await factories.patient_user()
    headers = {"Authorization": f"Bearer {patient.token}"}

    async with client_with(
        redis_url=closed_port_url(), account_bucket_capacity=1000, rate_limit_processes=2
    ) as http:
        answer = await http.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"me": {"id": str(patient.account.id)}}
    assert answer.json()["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 500
    assert answer.headers["ratelimit-policy"].startswith('"cost";q=500;')
