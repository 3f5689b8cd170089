"""Publishing and subscribing on one broker, on the in-process backend and on Redis."""

from __future__ import annotations

import asyncio

import pytest

from realtime.broker import Broker
from realtime.messages import resync_message
from tests.realtime.conftest import DEADLINE_SECONDS, BrokerFactory, next_message


async def test_a_subscriber_receives_what_is_published_after_it_subscribed_in_order(
    make_broker: BrokerFactory, backend_url: str | None
) -> None:
    broker = await make_broker(backend_url)
    async with broker.subscribe("room:7") as messages:
        for seq in (1, 2, 3):
            await broker.publish("room:7", {"type": "called", "seq": seq, "ticket": "A012"})

        received = [await next_message(messages) for _ in range(3)]

    assert received == [{"type": "called", "seq": seq, "ticket": "A012"} for seq in (1, 2, 3)]


async def test_a_subscriber_sees_only_its_own_channel(
    make_broker: BrokerFactory, backend_url: str | None
) -> None:
    broker = await make_broker(backend_url)
    async with broker.subscribe("room:1") as room_1, broker.subscribe("room:2") as room_2:
        await broker.publish("room:2", {"seq": 1, "room": 2})
        await broker.publish("room:1", {"seq": 1, "room": 1})

        assert await next_message(room_1) == {"seq": 1, "room": 1}
        assert await next_message(room_2) == {"seq": 1, "room": 2}


async def test_twenty_concurrent_first_subscribers_all_receive_the_first_message(
    make_broker: BrokerFactory, backend_url: str | None
) -> None:
    broker = await make_broker(backend_url)
    subscribed = 0
    all_subscribed = asyncio.Event()

    async def display() -> dict[str, object]:
        nonlocal subscribed
        async with broker.subscribe("room:first") as messages:
            subscribed += 1
            if subscribed == 20:
                all_subscribed.set()
            return await next_message(messages)

    # Twenty subscribers race for a channel nobody is subscribed to yet.
    displays = [asyncio.create_task(display()) for _ in range(20)]
    await asyncio.wait_for(all_subscribed.wait(), DEADLINE_SECONDS)
    await broker.publish("room:first", {"seq": 1})

    assert await asyncio.gather(*displays) == [{"seq": 1}] * 20
    assert broker.subscriber_count("room:first") == 0


async def test_the_last_subscriber_leaving_releases_the_channel_and_a_new_one_still_receives(
    make_broker: BrokerFactory, backend_url: str | None
) -> None:
    broker = await make_broker(backend_url)
    async with broker.subscribe("room:3"):
        pass
    assert broker.subscriber_count("room:3") == 0

    async with broker.subscribe("room:3") as messages:
        await broker.publish("room:3", {"seq": 9})
        assert await next_message(messages) == {"seq": 9}


async def test_publishing_the_reserved_resync_type_is_refused(make_broker: BrokerFactory) -> None:
    broker = await make_broker(None)

    with pytest.raises(ValueError, match="reserved"):
        await broker.publish("room:1", resync_message("overflow"))


async def test_stopping_the_broker_ends_every_subscription(make_broker: BrokerFactory) -> None:
    broker: Broker = await make_broker(None)
    async with broker.subscribe("room:1") as messages:
        await broker.stop()

        assert [message async for message in messages] == []
