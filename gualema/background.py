"""Periodic jobs every server process runs. Each job must be safe with several processes running it
at once (conditional updates, row claims with leases): there is no leader election."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gualema.settings import Settings

log = logging.getLogger("gualema.background")

JobFunction = Callable[[Settings], Awaitable[int]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: float
    run: JobFunction


def periodic_jobs() -> list[PeriodicJob]:
    """Every area adds its jobs here; imports are local so the list stays the single registry."""
    from models import audit

    async def purge_audit(settings: Settings) -> int:
        return await audit.purge_expired(settings.audit_retention_days)

    jobs = [PeriodicJob("audit.purge", 3600, purge_audit)]
    return jobs


async def run_job_forever(job: PeriodicJob, settings: Settings, stop: asyncio.Event) -> None:
    # Jitter so that several processes do not hit the database in lockstep.
    await _sleep_or_stop(stop, random.uniform(0, min(job.every_seconds, 1.0)))
    while not stop.is_set():
        try:
            done = await job.run(settings)
            if done:
                log.info("job %s handled %d item(s)", job.name, done)
        except Exception:
            log.exception("job %s failed; retrying next round", job.name)
        await _sleep_or_stop(stop, job.every_seconds)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


class BackgroundWorkers:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for job in periodic_jobs():
            self.tasks.append(asyncio.create_task(run_job_forever(job, self.settings, self.stop)))

    async def shutdown(self) -> None:
        self.stop.set()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
