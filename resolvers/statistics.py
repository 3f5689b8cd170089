"""Statistics use cases: the KPI table for administrators (issue 15)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

from gualema.settings import Settings
from models import jobs
from models.clock import utcnow
from models.errors import InvalidInput
from models.statistics import activity, dashboard, frozen, rollup
from models.statistics.kpis import Grouping, KpiFilter, KpiRow, kpi_rows
from realtime.broker import get_broker
from realtime.messages import is_resync
from resolvers.context import STATISTICS_DISPLAY_ROLE, Context
from resolvers.display_tokens import IssuedDisplayToken, issue_device_token

# Two years of days: a year beside the year before it.
MAX_RANGE_DAYS = 732


def kpi_filter(
    start: date, end: date, grouping: Grouping, department_id: int | None, doctor_id: int | None
) -> KpiFilter:
    if end < start:
        raise InvalidInput("to", "the range ends before it starts")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise InvalidInput("to", f"at most {MAX_RANGE_DAYS} days at once")
    return KpiFilter(start, end, grouping, department_id, doctor_id)


async def kpis(context: Context, spec: KpiFilter) -> list[KpiRow]:
    return await kpi_rows(spec, now=utcnow(), tz=context.settings.tz)


# -- the big screen (数据大屏)

DASHBOARD_CHANNEL = "statistics.dashboard"


async def refresh_dashboard(settings: Settings) -> int:
    """Every process runs this each interval; only the lease holder computes, and it publishes only
    a change (docs/decisions/184)."""

    async def publish(figures: dict[str, Any]) -> None:
        await get_broker().publish(DASHBOARD_CHANNEL, {"dashboard": figures})

    interval = timedelta(seconds=settings.dashboard_interval_seconds)
    return int(await dashboard.refresh(jobs.WORKER_ID, utcnow(), settings.tz, interval, publish))


async def dashboard_stream(context: Context) -> AsyncIterator[dict[str, Any]]:
    """The last published figures first, then each change. After a resync (messages lost) the
    stored figures again: every message is the whole screen."""
    # Token expiry and revocation close the socket (gualema/session_watch.py), ending this stream.
    async with get_broker().subscribe(DASHBOARD_CHANNEL) as messages:
        yield await dashboard.latest(utcnow(), context.settings.tz)
        while True:
            try:
                message = await anext(messages)
            except StopAsyncIteration:
                return
            if is_resync(message):
                yield await dashboard.latest(utcnow(), context.settings.tz)
            else:
                yield message["dashboard"]


async def issue_dashboard_token(context: Context) -> IssuedDisplayToken:
    """A token for the /dashboard page: role statistics_display, no account, no rooms; revoked like a
    waiting-room display's (revokeDisplayToken)."""
    return await issue_device_token(
        context, STATISTICS_DISPLAY_ROLE, [], "dashboard_token.issued", ("dashboard", "statistics")
    )


async def record_activity(account_id: int, settings: Settings) -> None:
    await activity.seen(account_id, utcnow(), settings.tz)


async def flush_activity(_settings: Settings) -> int:
    return await activity.flush()


async def fold_closed_days(settings: Settings) -> int:
    # Two days back: nothing books, pays or cancels on a day that long closed in any number.
    today = utcnow().astimezone(settings.tz).date()
    return await rollup.fold_shards(today - timedelta(days=2))


async def freeze_closed_days(settings: Settings) -> int:
    """Days closed for three days into coarser rows, so a year's kpis reads few rows (decision 257)."""
    return await frozen.freeze(utcnow().astimezone(settings.tz).date())
