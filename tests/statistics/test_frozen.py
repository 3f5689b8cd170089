"""Closed days frozen into coarser rows read exactly as the day counters they replace, and stay so
when a frozen day changes later (docs/decisions/257)."""

from __future__ import annotations

from datetime import date, timedelta

from tortoise.transactions import in_transaction

from gualema.settings import Settings
from models.clock import utcnow
from models.reactions import change_schedule
from models.scheduling import Schedule, ScheduleStatus
from models.statistics import frozen
from models.statistics.kpis import Counts, Grouping, KpiFilter, KpiRow, kpi_rows
from models.statistics.tables import DailyActivity, DailyPayer, FrozenThrough
from tests.statistics.test_month_recomputed import a_month_of_activity

Figures = list[tuple[object, date, date, dict[str, object], dict[str, object]]]


def counts(c: Counts) -> dict[str, object]:
    return {
        "metrics": {name: value for name, value in c.metrics.items() if value},
        "capacity": c.capacity,
        "active": c.active_users,
        "payers": c.payers,
        "cohort": None if c.cohort is None else (c.cohort.accounts, c.cohort.active_later),
    }


def figures(rows: list[KpiRow]) -> Figures:
    return [(r.key, r.start, r.end, counts(r.current), counts(r.previous)) for r in rows]


async def every_grouping(settings: Settings, first: date, last: date, doctor_id: int) -> dict[str, Figures]:
    out = {}
    for grouping in Grouping:
        # Whole calendar months too: frozen ones are read per month, not per day.
        months_start = (first.replace(day=1) + timedelta(days=31)).replace(day=1)
        months_end = last.replace(day=1) - timedelta(days=1)
        for label, spec in (
            ("hospital", KpiFilter(first, last, grouping)),
            ("doctor", KpiFilter(first, last, grouping, doctor_id=doctor_id)),
            ("whole months", KpiFilter(months_start, months_end, grouping)),
        ):
            out[f"{grouping.name} {label}"] = figures(await kpi_rows(spec, now=utcnow(), tz=settings.tz))
    return out


async def unfrozen(settings: Settings, first: date, last: date, doctor_id: int) -> dict[str, Figures]:
    """The same reads from the day counters alone: the horizon set back to nothing frozen."""
    horizon = await FrozenThrough.get(id=1)
    await FrozenThrough.filter(id=1).update(last_day=None)
    try:
        return await every_grouping(settings, first, last, doctor_id)
    finally:
        await FrozenThrough.filter(id=1).update(last_day=horizon.last_day)


async def accounts_active_over(days: list[date]) -> None:
    # Accounts 1..12 active on every third day after their first, and paying on some of them.
    for account in range(1, 13):
        for day in days[account % 5 :: 3]:
            await DailyActivity.create(account_id=account, day=day)
            if account % 2:
                await DailyPayer.create(account_id=account, day=day)


async def test_frozen_rows_read_as_the_day_counters_and_follow_a_late_change(settings: Settings) -> None:
    doctor_ids, _, first_day, last_day = await a_month_of_activity()
    today = utcnow().astimezone(settings.tz).date()
    # Two months back, so that calendar weeks, a whole month and its cohort cells are frozen.
    first = today - timedelta(days=62)
    await accounts_active_over([first + timedelta(days=n) for n in range(62 + 5)])

    frozen_days = await frozen.freeze(today)

    assert await frozen.through() == today - timedelta(days=frozen.FREEZE_LAG_DAYS)
    assert frozen_days > 0
    read = await every_grouping(settings, first, last_day, doctor_ids[1])
    assert read == await unfrozen(settings, first, last_day, doctor_ids[1])
    hospital_days = read["DAY hospital"]
    assert any("registrations" in str(row[3]["metrics"]) for row in hospital_days)
    assert any(row[3]["active"] for row in hospital_days)
    assert any(row[3]["cohort"] for row in read["MONTH hospital"])

    # A frozen day changes: a session of ten days ago is stopped (停诊) after the fact.
    stopped = await Schedule.get(
        doctor_id=doctor_ids[1], date=today - timedelta(days=10), status=ScheduleStatus.OPEN
    )
    async with in_transaction():
        await change_schedule(stopped, ScheduleStatus.STOPPED, actor_id=None, reason="补录停诊")

    after = await every_grouping(settings, first, last_day, doctor_ids[1])
    assert after != read
    assert after == await unfrozen(settings, first, last_day, doctor_ids[1])
    # Freezing again moves nothing: the horizon has not moved.
    assert await frozen.freeze(today) == 0
    assert await every_grouping(settings, first, last_day, doctor_ids[1]) == after
    assert first_day < today - timedelta(days=10)
