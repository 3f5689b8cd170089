"""Demo indoor map for the demo hospital; filled in by indoor navigation."""

from __future__ import annotations


async def seed_demo_map() -> None:
    return None
