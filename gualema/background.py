"""Periodic jobs every server process runs. Each job must be safe with several processes running it
at once (conditional updates, row claims with leases): there is no leader election."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from gualema import browse_cache
from gualema.settings import Settings, get_settings
from models import audit, public_changes
from models.access_revocations import purge_forgotten
from models.accounts import purge_login_throttles
from models.jobs import release_claims as release_jobs
from models.notifications import release_sms_claims
from resolvers import booking as booking_use_cases
from resolvers import notifications as notification_use_cases
from resolvers import payments as payment_use_cases
from resolvers import scheduling as scheduling_use_cases
from resolvers import statistics as statistics_use_cases
from resolvers import waitlist as waitlist_use_cases

log = logging.getLogger("gualema.background")

JobFunction = Callable[[Settings], Awaitable[int]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: float
    run: JobFunction


def periodic_jobs() -> list[PeriodicJob]:
    """Every area adds its jobs here: the list is the single registry."""

    async def purge_audit(settings: Settings) -> int:
        return await audit.purge_expired(settings.audit_retention_days)

    jobs = [PeriodicJob("audit.purge", 3600, purge_audit)]

    # -- accounts: forget login-throttle windows that have ended.
    async def purge_throttles(settings: Settings) -> int:
        return await purge_login_throttles(timedelta(minutes=settings.login_window_minutes))

    jobs.append(PeriodicJob("accounts.purge_login_throttles", 600, purge_throttles))

    async def purge_revocations(_settings: Settings) -> int:
        return await purge_forgotten()

    jobs.append(PeriodicJob("accounts.purge_revocations", 600, purge_revocations))

    # -- booking (issue 3): unpaid holds expire, ended sessions are swept for no-shows.
    booking_settings = get_settings()
    jobs.append(
        PeriodicJob(
            "booking.expire_holds", booking_settings.hold_sweep_seconds, booking_use_cases.expire_holds
        )
    )
    jobs.append(
        PeriodicJob(
            "booking.no_shows", booking_settings.no_show_sweep_seconds, booking_use_cases.sweep_no_shows
        )
    )

    # -- notifications (issue 7): the outbox dispatcher, reminders (durable jobs), purges.
    work = notification_use_cases.periodic_work(get_settings())
    jobs.extend(PeriodicJob(name, every_seconds, run) for name, every_seconds, run in work)

    # -- payments (issue 4): refund and close jobs, lapsed unpaid orders, unsettled refunds.
    jobs.append(PeriodicJob("payments.work", get_settings().worker_interval_seconds, payment_use_cases.work))

    # -- the clinic calendar (issue 16.4): sessions kept generated N weeks ahead.
    jobs.append(
        PeriodicJob(
            "schedules.generate",
            get_settings().schedule_generation_seconds,
            scheduling_use_cases.keep_sessions_generated,
        )
    )

    # -- waitlist (issue 6): freed seats to waiters, deadlines, the pool safety net.
    jobs.append(
        PeriodicJob("waitlist.work", get_settings().worker_interval_seconds, waitlist_use_cases.run_waitlist)
    )

    # -- statistics (issue 15): the big screen, the activity batch, closed days folded and frozen.
    jobs.append(
        PeriodicJob(
            "statistics.dashboard",
            get_settings().dashboard_interval_seconds,
            statistics_use_cases.refresh_dashboard,
        )
    )
    jobs.append(PeriodicJob("statistics.activity", 5, statistics_use_cases.flush_activity))
    jobs.append(PeriodicJob("booking.sold_out_refusals", 5, booking_use_cases.flush_sold_out_refusals))
    jobs.append(PeriodicJob("statistics.fold", 3600, statistics_use_cases.fold_closed_days))
    jobs.append(PeriodicJob("statistics.freeze", 3600, statistics_use_cases.freeze_closed_days))
    return jobs


async def run_job_forever(job: PeriodicJob, settings: Settings, stop: asyncio.Event) -> None:
    # Jitter so that several processes do not hit the database in lockstep.
    await _sleep_or_stop(stop, random.uniform(0, min(job.every_seconds, 1.0)))
    while not stop.is_set():
        changes = public_changes.collect()
        try:
            done = await job.run(settings)
            if done:
                log.info("job %s handled %d item(s)", job.name, done)
        except Exception:
            log.exception("job %s failed; retrying next round", job.name)
        await browse_cache.publish(changes)  # seats a job gave back, after its commits
        await _sleep_or_stop(stop, job.every_seconds)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


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
        if self.tasks:
            await release_claims()  # issue 19: another process takes our jobs and texts at once


async def release_claims() -> None:
    jobs, texts = await release_jobs(), await release_sms_claims()
    if jobs or texts:
        log.info("released the leases of %d job(s) and %d text(s)", jobs, texts)
