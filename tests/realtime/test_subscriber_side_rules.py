"""The subscriber-side rules: sequence gaps and sharing snapshot loads."""

from __future__ import annotations

import asyncio

from realtime.messages import resync_message
from realtime.sequence import SequenceGate
from realtime.single_flight import SingleFlight
from tests.realtime.conftest import BrokerFactory, next_message


def test_messages_already_in_the_snapshot_are_skipped_and_the_next_ones_delivered() -> None:
    gate = SequenceGate(snapshot_seq=5)

    assert [gate.admit(seq) for seq in (4, 5, 6, 7, 7)] == ["stale", "stale", "deliver", "deliver", "stale"]


def test_a_missing_sequence_number_is_a_gap_until_a_fresh_snapshot_resets_the_gate() -> None:
    gate = SequenceGate(snapshot_seq=5)

    assert gate.admit(7) == "gap"
    assert gate.admit(7) == "gap"
    gate.reset(snapshot_seq=7)
    assert [gate.admit(seq) for seq in (6, 7, 8)] == ["stale", "stale", "deliver"]


async def test_subscribers_resyncing_together_share_one_snapshot_load() -> None:
    snapshots: SingleFlight[dict[str, int]] = SingleFlight()
    release = asyncio.Event()

    async def load_board() -> dict[str, int]:
        await release.wait()
        return {"seq": 12}

    # Given 500 displays that were live before the load began, all told to resync at once
    live_since = asyncio.get_running_loop().time()
    displays = [
        asyncio.create_task(snapshots.run("room:1", load_board, live_since=live_since)) for _ in range(500)
    ]
    await asyncio.sleep(0)
    release.set()

    assert await asyncio.gather(*displays) == [{"seq": 12}] * 500
    assert snapshots.loads == 1


async def test_a_subscriber_newer_than_the_running_load_gets_its_own() -> None:
    snapshots: SingleFlight[str] = SingleFlight()
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def load(result: str) -> str:
        await release.wait()
        return result

    earlier = asyncio.create_task(snapshots.run("room:1", lambda: load("first"), live_since=loop.time()))
    await asyncio.sleep(0)
    # A display whose subscription went live after that load began could miss a change committed in
    # between, so it must not share the load.
    later = asyncio.create_task(snapshots.run("room:1", lambda: load("second"), live_since=loop.time() + 1))
    await asyncio.sleep(0)
    release.set()

    assert (await earlier, await later) == ("first", "second")
    assert snapshots.loads == 2


async def test_a_mailbox_is_complete_since_its_subscription_and_again_since_its_latest_resync(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker(None, subscriber_buffer=1)
    before = asyncio.get_running_loop().time()
    async with broker.subscribe("room:1") as messages:
        subscribed = messages.live_since
        assert subscribed >= before

        await broker.publish("room:1", {"seq": 1})
        await broker.publish("room:1", {"seq": 2})  # overflows the one-message buffer
        assert await next_message(messages) == resync_message("overflow")

        # complete again from when the resync replaced the lost message
        assert messages.live_since > subscribed
