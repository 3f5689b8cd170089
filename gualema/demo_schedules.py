"""Demo sessions (排班) for the demo hospital; filled in by the booking engine."""

from __future__ import annotations


async def seed_demo_schedules() -> None:
    return None
