"""The subscriber-side rules: sequence gaps, rendering a change once, sharing snapshot loads."""

from __future__ import annotations

import asyncio

import pytest

from realtime.messages import resync_message
from realtime.render_cache import RenderCache
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


async def test_a_thousand_subscribers_of_one_change_share_one_render() -> None:
    cache: RenderCache[dict[str, object]] = RenderCache()
    release = asyncio.Event()

    async def render_board() -> dict[str, object]:
        await release.wait()  # every subscriber asks while the render is still running
        return {"seq": 3, "called": "A012"}

    subscribers = [asyncio.create_task(cache.get_or_render("room:1", 3, render_board)) for _ in range(1000)]
    await asyncio.sleep(0)
    release.set()
    boards = await asyncio.gather(*subscribers)

    assert cache.renders == 1
    assert all(board is boards[0] for board in boards)
    assert await cache.get_or_render("room:1", 3, render_board) is boards[0]
    assert cache.renders == 1


async def test_each_change_and_each_variant_is_rendered_once() -> None:
    cache: RenderCache[str] = RenderCache()

    async def render(text: str) -> str:
        return text

    assert await cache.get_or_render("room:1", 1, lambda: render("v1")) == "v1"
    assert await cache.get_or_render("room:1", 2, lambda: render("v2")) == "v2"
    assert await cache.get_or_render("room:1", 2, lambda: render("unused")) == "v2"
    assert await cache.get_or_render("room:1", 2, lambda: render("v2-admin"), variant="admin") == "v2-admin"
    assert await cache.get_or_render("room:2", 2, lambda: render("room 2")) == "room 2"
    # a subscriber behind the stored change gets its own render, which does not replace the newer one
    assert await cache.get_or_render("room:1", 1, lambda: render("v1 again")) == "v1 again"
    assert await cache.get_or_render("room:1", 2, lambda: render("unused")) == "v2"
    assert cache.renders == 5


async def test_a_failed_render_is_not_kept_and_the_next_subscriber_renders_again() -> None:
    cache: RenderCache[str] = RenderCache()

    async def broken() -> str:
        raise RuntimeError("database unavailable")

    async def working() -> str:
        return "board"

    with pytest.raises(RuntimeError, match="database unavailable"):
        await cache.get_or_render("room:1", 1, broken)
    assert await cache.get_or_render("room:1", 1, working) == "board"


async def test_the_cache_keeps_at_most_its_number_of_channels() -> None:
    cache: RenderCache[int] = RenderCache(max_entries=2)

    async def render(value: int) -> int:
        return value

    for room in range(10):
        await cache.get_or_render(f"room:{room}", 1, lambda room=room: render(room))  # type: ignore[misc]

    assert await cache.get_or_render("room:9", 1, lambda: render(-1)) == 9
    assert await cache.get_or_render("room:0", 1, lambda: render(-1)) == -1


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
