"""The database rate limiter: a window of N holds N takes, whatever N is, and purged slots leave no hole."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from models.clock import utcnow
from models.rate_limits import Limit, RateLimited, RateLimitSlot, purge_free_slots, take

pytestmark = pytest.mark.usefixtures("settings")


async def test_a_generous_limit_makes_only_the_slots_it_uses() -> None:
    # Given an operator's very generous limit (register per address, 100,000 an hour)
    generous = Limit("register-ip-hour", 100_000, timedelta(hours=1))

    # When one address registers five times
    for _ in range(5):
        await take([(generous, "10.0.0.1")])

    # Then five slots exist, busy: the window did not materialise 100,000 rows to read each time
    slots = await RateLimitSlot.filter(key="register-ip-hour:10.0.0.1")
    assert sorted(s.slot for s in slots) == [0, 1, 2, 3, 4]
    assert all(s.free_at > utcnow() for s in slots)


async def test_concurrent_takers_never_exceed_the_window() -> None:
    tight = Limit("phone-minute", 3, timedelta(minutes=1))

    outcomes = await asyncio.gather(
        *(take([(tight, "13800001111")]) for _ in range(12)), return_exceptions=True
    )

    assert sum(1 for o in outcomes if o is None) == 3
    assert all(isinstance(o, RateLimited) for o in outcomes if o is not None)


async def test_slots_purged_out_of_the_middle_are_made_again() -> None:
    limit = Limit("phone-hour", 4, timedelta(hours=1))
    for _ in range(4):
        await take([(limit, "13800002222")])
    # Slots 1 and 2 freed long ago and purged; 0 and 3 still busy
    long_ago = utcnow() - timedelta(hours=1)
    await RateLimitSlot.filter(key="phone-hour:13800002222", slot__in=[1, 2]).update(free_at=long_ago)
    assert await purge_free_slots() == 2

    # Two more takes fill the holes, the third is refused until a slot frees
    await take([(limit, "13800002222")])
    await take([(limit, "13800002222")])
    with pytest.raises(RateLimited):
        await take([(limit, "13800002222")])
    assert sorted(
        await RateLimitSlot.filter(key="phone-hour:13800002222").values_list("slot", flat=True)
    ) == [
        0,
        1,
        2,
        3,
    ]
