"""Statistics use cases: the KPI table for administrators (issue 15)."""

from __future__ import annotations

from datetime import date, timedelta

from models.clock import utcnow
from models.errors import InvalidInput
from models.statistics.kpis import Grouping, KpiFilter, KpiRow, kpi_rows
from resolvers.context import Context

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
