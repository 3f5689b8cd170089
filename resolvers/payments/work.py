"""The periodic payments work: queued refund and close jobs, lapsed orders, unsettled refunds."""

from __future__ import annotations

from gualema.settings import Settings
from models import jobs
from models.payments import PAYMENT_CLOSE, PAYMENT_REFUND, WAITLIST_REFUND
from resolvers.payments.closing import close_job, close_lapsed_orders
from resolvers.payments.refunds import poll_refunds, refund_job, waitlist_refund_job


def job_runner(settings: Settings) -> jobs.JobRunner:
    async def on_refund(job: jobs.Job) -> None:
        await refund_job(settings, job.payload)

    async def on_close(job: jobs.Job) -> None:
        await close_job(settings, job.payload)

    async def on_waitlist_refund(job: jobs.Job) -> None:
        await waitlist_refund_job(settings, job.payload)

    return jobs.JobRunner(
        {PAYMENT_REFUND: on_refund, PAYMENT_CLOSE: on_close, WAITLIST_REFUND: on_waitlist_refund}
    )


async def work(settings: Settings) -> int:
    """One round of the periodic payments job: queued refunds and closes, lapsed orders, stale refunds."""
    done = await job_runner(settings).run_once()
    done += await close_lapsed_orders(settings)
    done += await poll_refunds(settings)
    return done
