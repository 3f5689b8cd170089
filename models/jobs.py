"""A durable job queue in the database: written in the caller's transaction, claimed with a lease.

Several server processes claim from the same table. A claim is a conditional UPDATE on the row's
lease, so exactly one process wins each job; a process that dies mid-job loses its lease when it
expires and another process retries the job. Handlers must therefore be idempotent.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise import fields
from tortoise.expressions import Q
from tortoise.models import Model

from models.clock import utcnow

WORKER_ID = secrets.token_hex(6)

# A seat came free (cancelled, expired, added): the waitlist is offered it first (models/waitlist/).
SEAT_FREED = "seat.freed"


class Job(Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=64, db_index=True)
    payload: dict[str, Any] = fields.JSONField(default=dict)
    dedupe_key = fields.CharField(max_length=128, null=True, unique=True)
    run_at = fields.DatetimeField(db_index=True)
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField(default=8)
    locked_until = fields.DatetimeField(null=True)
    locked_by = fields.CharField(max_length=32, null=True)
    done_at = fields.DatetimeField(null=True, db_index=True)
    failed_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "job"


async def enqueue(
    kind: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 8,
) -> Job | None:
    """Call inside the transaction of the change that causes the job. A repeated dedupe_key is a no-op.

    With a dedupe_key it is one INSERT … ON CONFLICT DO NOTHING (INSERT IGNORE on MySQL): no read
    first, and unlike a caught IntegrityError it never aborts the caller's PostgreSQL transaction.
    Returns the job when it has no dedupe_key (with one, whether it was new is not known).
    """
    row = Job(
        kind=kind,
        payload=payload,
        run_at=run_at or utcnow(),
        dedupe_key=dedupe_key,
        max_attempts=max_attempts,
    )
    if dedupe_key is not None:
        await Job.bulk_create([row], ignore_conflicts=True)
        return None
    await row.save()
    return row


async def claim(kinds: list[str], *, lease: timedelta, limit: int = 20) -> list[Job]:
    now = utcnow()
    candidates = (
        await Job.filter(kind__in=kinds, done_at__isnull=True, failed_at__isnull=True, run_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("run_at", "id")
        .limit(limit)
    )
    claimed: list[Job] = []
    for job in candidates:
        lease_filter = (
            Q(locked_until__isnull=True) if job.locked_until is None else Q(locked_until=job.locked_until)
        )
        won = await Job.filter(Q(id=job.id), lease_filter, Q(done_at__isnull=True)).update(
            locked_until=now + lease, locked_by=WORKER_ID, attempts=job.attempts + 1
        )
        if won == 1:
            job.attempts += 1
            job.locked_until = now + lease
            job.locked_by = WORKER_ID
            claimed.append(job)
    return claimed


async def complete(job: Job) -> None:
    await Job.filter(id=job.id, locked_by=WORKER_ID).update(done_at=utcnow(), locked_until=None)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 3600))


async def fail(job: Job, error: str) -> None:
    now = utcnow()
    if job.attempts >= job.max_attempts:
        await Job.filter(id=job.id).update(failed_at=now, last_error=error[:2000], locked_until=None)
    else:
        await Job.filter(id=job.id).update(
            run_at=now + backoff(job.attempts), last_error=error[:2000], locked_until=None
        )


Handler = Callable[[Job], Awaitable[None]]


@dataclass(frozen=True)
class JobRunner:
    handlers: dict[str, Handler]
    lease: timedelta = timedelta(seconds=60)

    async def run_once(self, limit: int = 20) -> int:
        jobs = await claim(list(self.handlers), lease=self.lease, limit=limit)
        for job in jobs:
            try:
                await self.handlers[job.kind](job)
            except Exception as exc:  # a failing job is retried with backoff, never lost
                await fail(job, f"{type(exc).__name__}: {exc}")
            else:
                await complete(job)
        return len(jobs)
