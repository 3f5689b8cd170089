"""Through Redis: delivery between broker instances and processes, isolation by prefix, recovery
when the pub/sub connection drops mid-subscription."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import AsyncIterator

import pytest
from redis import asyncio as redis

from realtime.messages import resync_message
from realtime.redis_backend import SupervisedRedisBackend
from tests.conftest import REDIS_URL
from tests.fixtures.api import REPOSITORY
from tests.realtime.conftest import DEADLINE_SECONDS, BrokerFactory, next_message, requires_redis

pytestmark = requires_redis


@pytest.fixture
async def redis_admin() -> AsyncIterator[redis.Redis]:
    assert REDIS_URL is not None
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


async def test_a_message_published_by_another_broker_instance_is_delivered(
    make_broker: BrokerFactory,
) -> None:
    displays_process = await make_broker(REDIS_URL)
    doctors_process = await make_broker(REDIS_URL)
    async with displays_process.subscribe("room:1") as messages:
        await doctors_process.publish("room:1", {"type": "called", "seq": 1, "ticket": "A001"})

        assert await next_message(messages) == {"type": "called", "seq": 1, "ticket": "A001"}


async def test_a_message_published_by_another_process_is_delivered(
    make_broker: BrokerFactory, prefix: str
) -> None:
    broker = await make_broker(REDIS_URL)
    publisher = textwrap.dedent(
        f"""
        import asyncio
        from realtime.broker import create_broker

        async def main():
            broker = create_broker({REDIS_URL!r}, {prefix!r})
            await broker.start()
            await broker.publish("room:2", {{"type": "called", "seq": 1, "name": "张*三"}})
            await broker.stop()

        asyncio.run(main())
        """
    )
    async with broker.subscribe("room:2") as messages:
        process = await asyncio.create_subprocess_exec(sys.executable, "-c", publisher, cwd=REPOSITORY)
        assert await asyncio.wait_for(process.wait(), DEADLINE_SECONDS) == 0

        assert await next_message(messages) == {"type": "called", "seq": 1, "name": "张*三"}


async def test_brokers_with_different_prefixes_never_see_each_other(
    make_broker: BrokerFactory, prefix: str
) -> None:
    this_run = await make_broker(REDIS_URL)
    other_run = await make_broker(REDIS_URL, prefix=f"{prefix}-other")
    async with this_run.subscribe("room:1") as mine, other_run.subscribe("room:1") as theirs:
        await other_run.publish("room:1", {"seq": 1, "run": "other"})
        await this_run.publish("room:1", {"seq": 1, "run": "this"})

        assert await next_message(mine) == {"seq": 1, "run": "this"}
        assert await next_message(theirs) == {"seq": 1, "run": "other"}


async def test_after_the_pubsub_connection_is_killed_subscribers_resync_and_receive_new_messages(
    make_broker: BrokerFactory, redis_admin: redis.Redis
) -> None:
    subscribers_broker = await make_broker(REDIS_URL)
    publishers_broker = await make_broker(REDIS_URL)
    backend = subscribers_broker.backend
    assert isinstance(backend, SupervisedRedisBackend)
    async with (
        subscribers_broker.subscribe("room:4") as board,
        subscribers_broker.subscribe("room:4") as phone,
    ):
        # Given a live subscription
        await publishers_broker.publish("room:4", {"seq": 1})
        assert await next_message(board) == {"seq": 1}
        assert await next_message(phone) == {"seq": 1}

        # When Redis drops our pub/sub connection (only ours: other runs may share this Redis)
        assert await kill_pubsub_connection(redis_admin, backend.client_name) == 1

        # Then every subscriber is told to resync once the subscription is back
        assert await next_message(board) == resync_message("reconnected")
        assert await next_message(phone) == resync_message("reconnected")
        assert backend.reconnects == 1

        # And messages published afterwards arrive
        await publishers_broker.publish("room:4", {"seq": 2})
        assert await next_message(board) == {"seq": 2}
        assert await next_message(phone) == {"seq": 2}
        assert await subscribers_broker.ping()


async def kill_pubsub_connection(redis_admin: redis.Redis, client_name: str) -> int:
    clients = await redis_admin.client_list(_type="pubsub")
    ids = [client["id"] for client in clients if client.get("name") == client_name]
    killed = 0
    for client_id in ids:
        killed += int(await redis_admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub", "ID", client_id))
    return killed
