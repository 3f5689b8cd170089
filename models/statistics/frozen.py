"""Closed days frozen into coarser rows, so a year of kpis reads a few thousand rows (docs/decisions/257).

`freeze` (a periodic job) moves the horizon `stat_frozen_through` forward to three days ago and writes,
for the days it passes: hospital-wide counters per day, each doctor's counters per calendar month
(seat refills of the slots of those days included, models/statistics/refills.py),
distinct accounts (activity and payers) per day, calendar week and month, and the retention cohort
cells of each month that closed. Readers take frozen rows up to the horizon and stat_daily after it.

Counters of a frozen day can still move (a past session stopped, a late no-show sweep, a consultation
finished days later): `keep_current` adds such a change to the frozen rows in the change's own
transaction. It holds the horizon row for share, the freeze holds it for update, so a change is either
seen by the freeze's read of stat_daily or adds to the frozen rows itself, never both or neither.
Distinct accounts fall on the day they are recorded (today), so frozen ones never change.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from models.statistics import refills, statements
from models.statistics.statements import MONTH_START, day_value, rows

# A day is frozen once it has been closed three days: nothing books, pays or cancels on it by then,
# and the shards of its counters have been folded (rollup.fold_shards, two days).
FREEZE_LAG_DAYS = 3
ACCOUNT_TABLES = ("stat_activity", "stat_payer")
BATCH = 500

# kind, start, department, doctor, metric
FrozenKey = tuple[str, date, int, int, str]

_UPSERT = {
    "sqlite": (
        "INSERT INTO stat_frozen (kind, start, department_id, doctor_id, metric, value) VALUES {rows} "
        "ON CONFLICT (kind, start, department_id, doctor_id, metric) "
        "DO UPDATE SET value = stat_frozen.value + excluded.value"
    ),
    "postgres": (
        "INSERT INTO stat_frozen (kind, start, department_id, doctor_id, metric, value) VALUES {rows} "
        "ON CONFLICT (kind, start, department_id, doctor_id, metric) "
        "DO UPDATE SET value = stat_frozen.value + excluded.value"
    ),
    "mysql": (
        "INSERT INTO stat_frozen (kind, start, department_id, doctor_id, metric, value) VALUES {rows} "
        "ON DUPLICATE KEY UPDATE value = value + VALUES(value)"
    ),
}

_LOCK = {
    ("postgres", "share"): " FOR SHARE",
    ("postgres", "update"): " FOR UPDATE",
    ("mysql", "share"): " LOCK IN SHARE MODE",
    ("mysql", "update"): " FOR UPDATE",
}


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def cohort_metric(month: date) -> str:
    return f"month_{month.year:04d}{month.month:02d}"


def month_of_cohort_metric(metric: str) -> date:
    number = int(metric.removeprefix("month_"))
    return date(number // 100, number % 100, 1)


async def through(*, lock: str | None = None) -> date | None:
    """The last frozen day (None: nothing frozen); `lock` 'share' or 'update' holds the row until the
    transaction ends (SQLite has one writer at a time)."""
    dialect = statements.dialect()
    suffix = _LOCK.get((dialect, lock), "") if lock else ""
    found = await rows(f"SELECT last_day FROM stat_frozen_through WHERE id = 1{suffix}", [])  # noqa: S608 (fixed clauses)
    value = found[0]["last_day"] if found else None
    return statements.as_date(value) if value is not None else None


async def upsert(counts: Iterable[tuple[FrozenKey, int]]) -> None:
    merged: Counter[FrozenKey] = Counter()
    for key, amount in counts:
        merged[key] += amount
    ordered = sorted((key, amount) for key, amount in merged.items() if amount)
    dialect = statements.dialect()
    for first in range(0, len(ordered), BATCH):
        values: list[Any] = []
        for (kind, start, department_id, doctor_id, metric), amount in ordered[first : first + BATCH]:
            values += [kind, day_value(dialect, start), department_id, doctor_id, metric, amount]
        marks = ", ".join(["(?, ?, ?, ?, ?, ?)"] * (len(values) // 6))
        await statements.execute(_UPSERT[dialect].format(rows=marks), values)


async def keep_current(counts: list[tuple[tuple[date, int, int, str, int], int]]) -> None:
    """Add counter changes of past days to the frozen rows of the days already frozen; in the change's
    transaction, before it touches stat_daily (the freeze takes the horizon, then reads stat_daily)."""
    horizon = await through(lock="share")
    if horizon is None:
        return
    frozen: list[tuple[FrozenKey, int]] = []
    for (day, department_id, doctor_id, metric, _shard), amount in counts:
        if day <= horizon:
            frozen.append((("day", day, 0, 0, metric), amount))
            frozen.append((("month", month_start(day), department_id, doctor_id, metric), amount))
    await upsert(frozen)


async def _earliest() -> date | None:
    found = await rows(
        "SELECT MIN(day) AS day FROM stat_daily UNION ALL SELECT MIN(day) FROM stat_activity"
        " UNION ALL SELECT MIN(day) FROM stat_payer",
        [],
    )
    days = [statements.as_date(row["day"]) for row in found if row["day"] is not None]
    return min(days) if days else None


def _periods_ending_in(first: date, last: date) -> list[tuple[str, date, date]]:
    """Calendar weeks and months whose last day is in [first, last]."""
    out = []
    monday = first - timedelta(days=first.weekday())
    while monday + timedelta(days=6) <= last:
        if monday + timedelta(days=6) >= first:
            out.append(("accounts_week", monday, monday + timedelta(days=6)))
        monday += timedelta(days=7)
    month = month_start(first)
    while month_end(month) <= last:
        if month_end(month) >= first:
            out.append(("accounts_month", month, month_end(month)))
        month = next_month(month)
    return out


async def cohort_cells(month: date, last: date) -> dict[date, int]:
    """Accounts active in [month, last] (within one month) by the month of their first activity."""
    dialect = statements.dialect()
    found = await rows(
        "SELECT (SELECT MIN(b.day) FROM stat_activity b WHERE b.account_id = a.account_id) AS first_day"
        " FROM (SELECT DISTINCT account_id FROM stat_activity WHERE day BETWEEN ? AND ?) a",
        [day_value(dialect, month), day_value(dialect, last)],
    )
    cells: Counter[date] = Counter()
    for row in found:
        cells[month_start(statements.as_date(row["first_day"]))] += 1
    return dict(cells)


async def freeze(today: date) -> int:
    """Freeze the days after the horizon up to FREEZE_LAG_DAYS before `today`; returns the days frozen.
    Safe beside other processes doing the same (the horizon row is held for update)."""
    target = today - timedelta(days=FREEZE_LAG_DAYS)
    dialect = statements.dialect()
    insert_horizon = {
        "sqlite": "INSERT INTO stat_frozen_through (id, last_day) VALUES (1, NULL) ON CONFLICT DO NOTHING",
        "postgres": "INSERT INTO stat_frozen_through (id, last_day) VALUES (1, NULL) ON CONFLICT DO NOTHING",
        "mysql": "INSERT IGNORE INTO stat_frozen_through (id, last_day) VALUES (1, NULL)",
    }[dialect]
    await statements.execute(insert_horizon, [])  # the migration made it; a wiped table lacks it
    async with in_transaction():
        horizon = await through(lock="update")
        first = horizon + timedelta(days=1) if horizon is not None else await _earliest()
        if first is None or first > target:
            if horizon is None:
                await _move_horizon(target)
            return 0
        span = [day_value(dialect, first), day_value(dialect, target)]
        counters: list[tuple[FrozenKey, int]] = []
        for row in await rows(
            "SELECT day, metric, SUM(value) AS total FROM stat_daily WHERE day BETWEEN ? AND ?"
            " GROUP BY day, metric",
            span,
        ):
            counters.append((("day", statements.as_date(row["day"]), 0, 0, row["metric"]), int(row["total"])))
        for row in await rows(
            f"SELECT {MONTH_START[dialect]} AS month, department_id, doctor_id, metric, SUM(value) AS total"  # noqa: S608 (fixed expressions)
            " FROM stat_daily WHERE day BETWEEN ? AND ? GROUP BY 1, department_id, doctor_id, metric",
            span,
        ):
            month = statements.as_date(row["month"])
            key = ("month", month, int(row["department_id"]), int(row["doctor_id"]), row["metric"])
            counters.append((key, int(row["total"])))
        for refill in await refills.by_slot(first, target):
            for metric, amount in (
                (refills.SEATS_FREED, refill.freed),
                (refills.SEATS_RETAKEN, refill.retaken),
            ):
                counters.append((("day", refill.day, 0, 0, metric), amount))
                month = month_start(refill.day)
                counters.append((("month", month, refill.department_id, refill.doctor_id, metric), amount))
                # per doctor and day too: the partial months of a range read them (never changes:
                # a slot's seats stop moving when it begins)
                counters.append(
                    (("doctor_day", refill.day, refill.department_id, refill.doctor_id, metric), amount)
                )
        for table in ACCOUNT_TABLES:
            for row in await rows(
                f"SELECT day, COUNT(*) AS accounts FROM {table} WHERE day BETWEEN ? AND ? GROUP BY day",  # noqa: S608 (fixed table names)
                span,
            ):
                day = statements.as_date(row["day"])
                counters.append((("accounts_day", day, 0, 0, table), int(row["accounts"])))
            for kind, start, end in _periods_ending_in(first, target):
                found = await rows(
                    f"SELECT COUNT(DISTINCT account_id) AS accounts FROM {table} WHERE day BETWEEN ? AND ?",  # noqa: S608 (fixed table names)
                    [day_value(dialect, start), day_value(dialect, end)],
                )
                counters.append(((kind, start, 0, 0, table), int(found[0]["accounts"])))
        for kind, start, end in _periods_ending_in(first, target):
            if kind == "accounts_month":
                for cohort, accounts in (await cohort_cells(start, end)).items():
                    counters.append((("cohort", cohort, 0, 0, cohort_metric(start)), accounts))
        await upsert(counters)
        await _move_horizon(target)
    return (target - first).days + 1


async def _move_horizon(target: date) -> None:
    dialect = statements.dialect()
    await statements.execute(
        "UPDATE stat_frozen_through SET last_day = ? WHERE id = 1", [day_value(dialect, target)]
    )
