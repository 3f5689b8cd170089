"""A Redis outage seen through a TCP proxy we can cut: subscribers resync when Redis is back, including
one that subscribed while it was down, and messages flow again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from realtime.messages import resync_message
from realtime.redis_backend import SupervisedRedisBackend
from tests.conftest import REDIS_URL
from tests.realtime.conftest import DEADLINE_SECONDS, BrokerFactory, next_message, requires_redis

pytestmark = requires_redis


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to Redis until cut: then it closes every connection and refuses new
    ones, as a restarting Redis would, until restored on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _forward(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        redis_reader, redis_writer = await asyncio.open_connection(*self.target)
        self._writers |= {client_writer, redis_writer}

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.close()

        await asyncio.gather(pipe(client_reader, redis_writer), pipe(redis_reader, client_writer))
        self._writers -= {client_writer, redis_writer}


@pytest.fixture
async def proxy() -> AsyncIterator[CuttableProxy]:
    assert REDIS_URL is not None
    target = urlsplit(REDIS_URL)
    instance = CuttableProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await instance.start()
    yield instance
    with contextlib.suppress(Exception):
        await instance.cut()


async def until(condition: object, attribute: str, expected: bool) -> None:
    async with asyncio.timeout(DEADLINE_SECONDS):
        # Polling a public flag, bounded: the backend exposes no event for its state on purpose.
        while getattr(condition, attribute) is not expected:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_subscribers_resync_after_an_outage_even_those_that_subscribed_during_it(
    make_broker: BrokerFactory, proxy: CuttableProxy
) -> None:
    assert REDIS_URL is not None
    database = urlsplit(REDIS_URL).path or "/0"
    displays_process = await make_broker(f"redis://127.0.0.1:{proxy.port}{database}")
    doctors_process = await make_broker(REDIS_URL)
    backend = displays_process.backend
    assert isinstance(backend, SupervisedRedisBackend)

    async with displays_process.subscribe("room:8") as board:
        await doctors_process.publish("room:8", {"seq": 1})
        assert await next_message(board) == {"seq": 1}

        # When Redis goes away for the displays' process
        await proxy.cut()
        await until(backend, "connected", False)
        assert not await displays_process.ping()
        await doctors_process.publish("room:8", {"seq": 2})  # lost for the displays: pub/sub is at-most-once
        async with displays_process.subscribe("room:8") as late_board:
            # and comes back
            await proxy.start()

            # Then both displays are told to resync, and later calls reach both
            assert await next_message(board) == resync_message("reconnected")
            assert await next_message(late_board) == resync_message("reconnected")
            await doctors_process.publish("room:8", {"seq": 3})
            assert await next_message(board) == {"seq": 3}
            assert await next_message(late_board) == {"seq": 3}
            assert await displays_process.ping()


async def test_a_publish_while_redis_is_unreachable_is_dropped_without_failing_the_committed_caller(
    make_broker: BrokerFactory, proxy: CuttableProxy
) -> None:
    assert REDIS_URL is not None
    database = urlsplit(REDIS_URL).path or "/0"
    broker = await make_broker(f"redis://127.0.0.1:{proxy.port}{database}")
    await proxy.cut()

    await broker.publish("room:9", {"seq": 1})  # the transaction behind it has committed: no exception

    assert not await broker.ping()
