"""A stalled subscriber costs a bounded buffer, never the server's memory, and is told to resync."""

from __future__ import annotations

from realtime.messages import resync_message
from tests.realtime.conftest import BrokerFactory, next_message


async def test_a_stalled_subscriber_keeps_at_most_its_buffer_and_resyncs_when_it_reads_again(
    make_broker: BrokerFactory, backend_url: str | None
) -> None:
    broker = await make_broker(backend_url, subscriber_buffer=4)
    async with broker.subscribe("room:5") as stalled, broker.subscribe("room:5", buffer=1000) as healthy:
        # Given a display that stops reading while 100 calls are made
        for seq in range(1, 101):
            await broker.publish("room:5", {"seq": seq})
        # (the healthy display receiving the 100th proves the fan-out has offered all 100 to both)
        assert [(await next_message(healthy))["seq"] for _ in range(100)] == list(range(1, 101))

        # Then the stalled one holds no more than its buffer: a resync in place of what it missed,
        # followed by the latest calls
        assert len(stalled) <= 4
        assert stalled.overflows == 24
        assert [await next_message(stalled) for _ in range(4)] == [
            resync_message("overflow"),
            {"seq": 98},
            {"seq": 99},
            {"seq": 100},
        ]

        # And once it reads again, it receives new calls normally
        await broker.publish("room:5", {"seq": 101})
        assert await next_message(stalled) == {"seq": 101}
        assert await next_message(healthy) == {"seq": 101}


async def test_a_subscriber_within_its_buffer_loses_nothing(
    make_broker: BrokerFactory, backend_url: str | None
) -> None:
    broker = await make_broker(backend_url, subscriber_buffer=4)
    async with broker.subscribe("room:6") as messages:
        for seq in range(1, 5):
            await broker.publish("room:6", {"seq": seq})

        assert [(await next_message(messages))["seq"] for _ in range(4)] == [1, 2, 3, 4]
