"""A channel as an ordered stream: out-of-order arrivals are put back in order without touching the
database; real losses and resyncs are repaired with a fresh snapshot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from realtime.broker import Broker
from realtime.ordered import Sequenced, sequenced
from realtime.single_flight import SingleFlight
from tests.realtime.conftest import DEADLINE_SECONDS, BrokerFactory


class Board:
    """The database side: the board's state and how often it was read."""

    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.loads = 0

    async def load(self) -> dict[str, Any]:
        self.loads += 1
        return {"seq": self.seq, "state": f"board at {self.seq}"}


async def read(stream: AsyncIterator[Sequenced], count: int) -> list[tuple[int, bool]]:
    async with asyncio.timeout(DEADLINE_SECONDS):
        return [((item := await anext(stream)).message["seq"], item.snapshot) for _ in range(count)]


async def test_messages_arriving_out_of_order_are_delivered_in_order_without_a_snapshot(
    make_broker: BrokerFactory, backend_url: str | None
) -> None:
    broker: Broker = await make_broker(backend_url)
    board = Board(seq=10)
    async with broker.subscribe("room:1") as messages:
        stream = sequenced(messages, board.load)
        assert await read(stream, 1) == [(10, True)]

        # The other process's change (12) arrives before this one's (11); 10 is a duplicate.
        for seq in (12, 10, 11, 13):
            await broker.publish("room:1", {"seq": seq})

        assert await read(stream, 3) == [(11, False), (12, False), (13, False)]
        assert board.loads == 1


async def test_a_change_that_never_arrives_is_repaired_by_a_snapshot_after_the_reorder_wait(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker(None)
    board = Board(seq=1)
    async with broker.subscribe("room:1") as messages:
        stream = sequenced(messages, board.load, reorder_seconds=0.05)
        assert await read(stream, 1) == [(1, True)]

        board.seq = 3  # change 2 was committed but its message lost; 3 arrives
        await broker.publish("room:1", {"seq": 3})

        assert await read(stream, 1) == [(3, True)]
        await broker.publish("room:1", {"seq": 4})
        assert await read(stream, 1) == [(4, False)]
        assert board.loads == 2


async def test_held_changes_newer_than_the_repairing_snapshot_still_follow_it(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker(None)
    board = Board(seq=1)
    async with broker.subscribe("room:1") as messages:
        stream = sequenced(messages, board.load, reorder_seconds=0.05)
        assert await read(stream, 1) == [(1, True)]

        board.seq = 3  # the snapshot is read between change 3 and change 4
        await broker.publish("room:1", {"seq": 3})
        await broker.publish("room:1", {"seq": 4})

        assert await read(stream, 2) == [(3, True), (4, False)]


async def test_displays_resyncing_together_share_one_snapshot(make_broker: BrokerFactory) -> None:
    broker = await make_broker(None, subscriber_buffer=1)
    board = Board(seq=5)
    snapshots: SingleFlight[dict[str, Any]] = SingleFlight()
    async with broker.subscribe("room:1") as first, broker.subscribe("room:1") as second:
        streams = [
            sequenced(messages, board.load, snapshots=snapshots, snapshot_key="room:1")
            for messages in (first, second)
        ]
        assert [await read(stream, 1) for stream in streams] == [[(5, True)], [(5, True)]]
        loads_for_subscribing = board.loads

        # Both fall behind (buffer of one) and are told to resync
        board.seq = 7
        await broker.publish("room:1", {"seq": 6})
        await broker.publish("room:1", {"seq": 7})

        assert await asyncio.gather(*(read(stream, 1) for stream in streams)) == [[(7, True)], [(7, True)]]
        assert board.loads == loads_for_subscribing + 1


async def test_complete_messages_cross_a_lost_change_without_reading_the_database(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker(None)
    board = Board(seq=1)
    async with broker.subscribe("room:1") as messages:
        stream = sequenced(messages, board.load, reorder_seconds=0.05, complete_messages=True)
        assert await read(stream, 1) == [(1, True)]

        # Change 2's message is lost; 3 and 5 arrive, each a whole board (4 is lost too).
        await broker.publish("room:1", {"seq": 3})
        await broker.publish("room:1", {"seq": 5})
        assert await read(stream, 2) == [(3, False), (5, False)]

        # A straggler older than what was shown is dropped; the stream goes on.
        await broker.publish("room:1", {"seq": 2})
        await broker.publish("room:1", {"seq": 6})
        assert await read(stream, 1) == [(6, False)]
        assert board.loads == 1


async def test_complete_messages_still_resnapshot_on_a_resync(make_broker: BrokerFactory) -> None:
    broker = await make_broker(None)
    board = Board(seq=1)
    async with broker.subscribe("room:1") as messages:
        stream = sequenced(messages, board.load, complete_messages=True)
        assert await read(stream, 1) == [(1, True)]

        board.seq = 4
        messages.offer_resync("reconnected")

        assert await read(stream, 1) == [(4, True)]
        assert board.loads == 2
