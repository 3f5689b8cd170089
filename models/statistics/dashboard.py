"""The big screen's figures (数据大屏): computed by one process per interval, published on change.

`refresh` takes the dashboard lease (a conditional UPDATE: the holder renews it, anyone takes it once
it has lapsed), computes the snapshot, and publishes it only when its digest differs from the last
published one, which the lease row keeps with the payload for late subscribers (docs/decisions/184).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count, Sum

from models.catalogue import Department
from models.queueing import QueueTicket, TicketState
from models.scheduling import Schedule, ScheduleStatus
from models.statistics.kpis import Grouping, KpiFilter, kpi_rows, registrations
from models.statistics.metrics import Metric, local_day
from models.statistics.tables import DailyFigure, StatisticsLease

LEASE = "dashboard"
TREND_DAYS = 14

Publish = Callable[[dict[str, Any]], Awaitable[None]]


async def take_lease(name: str, holder: str, now: datetime, hold_for: timedelta) -> bool:
    """True when `holder` holds the lease until now + hold_for (renewed, or taken once lapsed)."""
    if not await StatisticsLease.exists(name=name):
        with contextlib.suppress(IntegrityError):  # another process created it first
            await StatisticsLease.create(name=name, holder="", until=now - timedelta(seconds=1))
    won = await StatisticsLease.filter(Q(name=name), Q(until__lt=now) | Q(holder=holder)).update(
        holder=holder, until=now + hold_for
    )
    return won == 1


async def snapshot(now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    today = local_day(now, tz)
    totals = {
        row["metric"]: int(row["total"])
        for row in await DailyFigure.filter(day=today)
        .annotate(total=Sum("value"))
        .group_by("metric")
        .values("metric", "total")
    }
    sessions = await Schedule.filter(date=today, status=ScheduleStatus.OPEN, release_at__lte=now).only(
        "id", "capacity"
    )
    capacity = sum(session.capacity for session in sessions)
    waiting_rows = (
        await QueueTicket.filter(visit_date=today, state=TicketState.WAITING)
        .annotate(waiting=Count("id"))
        .group_by("department_id")
        .values("department_id", "waiting")
    )
    names = dict(
        await Department.filter(id__in=[r["department_id"] for r in waiting_rows]).values_list("id", "name")
    )
    calls = await QueueTicket.filter(called_at__gte=now - timedelta(hours=1)).count()
    trend = await kpi_rows(
        KpiFilter(today - timedelta(days=TREND_DAYS - 1), today, Grouping.DAY), now=now, tz=tz
    )
    return {
        "date": today.isoformat(),
        "registrations": totals.get(Metric.REGISTRATIONS.value, 0),
        "revenue": totals.get(Metric.REVENUE_PAID.value, 0) - totals.get(Metric.REVENUE_REFUNDED.value, 0),
        "noShows": totals.get(Metric.VISIT_NO_SHOW.value, 0),
        "callsLastHour": calls,
        "utilization": {
            "numerator": totals.get(Metric.VISIT_BOOKED.value, 0),
            "denominator": capacity,
        },
        "waiting": sorted(
            (
                {
                    "departmentId": r["department_id"],
                    "name": names.get(r["department_id"], ""),
                    "count": r["waiting"],
                }
                for r in waiting_rows
            ),
            key=lambda item: (-item["count"], item["departmentId"]),
        ),
        "trend": [
            {"date": row.start.isoformat(), "registrations": registrations(row.current)} for row in trend
        ],
    }


def digest_of(figures: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(figures, sort_keys=True).encode()).hexdigest()


async def refresh(holder: str, now: datetime, tz: ZoneInfo, interval: timedelta, publish: Publish) -> bool:
    """One interval's work: True when this process computed figures that changed and published them."""
    if not await take_lease(LEASE, holder, now, interval * 3):
        return False
    figures = await snapshot(now, tz)
    digest = digest_of(figures)
    changed = await StatisticsLease.filter(Q(name=LEASE), Q(holder=holder), ~Q(digest=digest)).update(
        digest=digest, payload=figures
    )
    if changed != 1:
        return False  # unchanged (or the lease was lost meanwhile: its new holder publishes)
    await publish(figures)
    return True


async def latest(now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """What a new subscriber sees first: the last published figures, or fresh ones if none yet."""
    row = await StatisticsLease.get_or_none(name=LEASE)
    if row is not None and row.payload:
        return dict(row.payload)
    return await snapshot(now, tz)
