"""Waitlist statistics: how many waited, how many were served, and how long they waited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.waitlist.entries import WaitlistEntry, WaitlistStatus

W = WaitlistStatus


@dataclass(frozen=True)
class WaitlistStats:
    waited: int
    served: int
    median_wait_seconds: float | None


async def stats(
    *,
    schedule_id: int | None = None,
    department_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> WaitlistStats:
    query = WaitlistEntry.all()
    if schedule_id is not None:
        query = query.filter(schedule_id=schedule_id)
    if department_id is not None:
        query = query.filter(department_id=department_id)
    if date_from is not None:
        query = query.filter(visit_date__gte=date_from)
    if date_to is not None:
        query = query.filter(visit_date__lte=date_to)
    rows = [
        row
        for row in await query.values("status", "joined_at", "served_at", "fee_due", "fee_paid")
        # A prepaid entry whose fee never arrived was never in line: it did not wait.
        if row["fee_paid"] >= row["fee_due"]
    ]
    waits = sorted(
        (row["served_at"] - row["joined_at"]).total_seconds()
        for row in rows
        if row["status"] == W.BOOKED and row["served_at"] is not None
    )
    median = None
    if waits:
        middle = len(waits) // 2
        median = waits[middle] if len(waits) % 2 else (waits[middle - 1] + waits[middle]) / 2
    return WaitlistStats(waited=len(rows), served=len(waits), median_wait_seconds=median)
