"""The fan-out benchmark's reference renderer: each change of a channel rendered once per process."""

from __future__ import annotations

import asyncio

import pytest

from bench.render_cache import RenderCache


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
