"""The KPI table: counters summed per period or group, beside the previous period (docs/decisions/181).

Two reads, each one aggregate statement: the rollup's counters (stat_daily, fee revenue included) and
the released capacity of sessions not stopped (schedule). Every ratio keeps its numerator and
denominator.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections

from models.statistics import frozen, refills
from models.statistics.metrics import CONSULT_PREFIX, HOURS, REFUSALS, WAIT_PREFIX, Metric
from models.statistics.statements import as_date, day_value, moment_value, rows

# A cohort is followed for a year: the width of the usual retention table (and a real bound for the
# query cost of `retention`, schema/statistics.py).
RETENTION_MONTHS = 12

M = Metric


class Grouping(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    DEPARTMENT = "department"
    DOCTOR = "doctor"


BY_PERIOD = (Grouping.DAY, Grouping.WEEK, Grouping.MONTH)
# No-shows are counted for ended sessions only: days before today.
ENDED_ONLY = (M.VISIT_NO_SHOW.value, M.VISIT_CONFIRMED.value)


@dataclass(frozen=True)
class KpiFilter:
    start: date
    end: date  # inclusive
    grouping: Grouping
    department_id: int | None = None
    doctor_id: int | None = None


@dataclass
class Counts:
    """Everything one row's figures are computed from."""

    metrics: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    capacity: int = 0
    active_users: int | None = None  # distinct accounts active in the period (hospital-wide periods only)
    payers: int | None = None  # distinct accounts that paid a fee in the period (hospital-wide periods only)
    cohort: Cohort | None = None  # accounts first active in this month (MONTH, hospital-wide)

    def __getitem__(self, metric: Metric) -> int:
        return self.metrics.get(metric.value, 0)

    def add(self, other: Counts) -> None:
        for name, value in other.metrics.items():
            self.metrics[name] += value
        self.capacity += other.capacity

    @property
    def refused(self) -> int:
        return sum(self[metric] for metric in REFUSALS)


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def registrations(c: Counts) -> int:
    return c[M.REGISTRATIONS]


def revenue(c: Counts) -> int:
    return c[M.REVENUE_PAID] - c[M.REVENUE_REFUNDED]


def utilization(c: Counts) -> Ratio:
    return Ratio(c[M.VISIT_BOOKED], c.capacity)


def consumed_utilization(c: Counts) -> Ratio:
    return Ratio(c[M.VISIT_CONSUMED], c.capacity)


def success_rate(c: Counts) -> Ratio:
    # Attempts: bookings placed plus refused requests (an idempotent replay is not a new attempt).
    return Ratio(c[M.CONFIRMED], c[M.REGISTRATIONS] + c.refused)


def payment_conversion(c: Counts) -> Ratio:
    return Ratio(c[M.PAID], c[M.HOLDS])


def cancellation_rate(c: Counts) -> Ratio:
    return Ratio(c[M.CANCELLED], c[M.REGISTRATIONS])


def late_cancellation_rate(c: Counts) -> Ratio:
    return Ratio(c[M.CANCELLED_LATE], c[M.REGISTRATIONS])


def refill_rate(c: Counts) -> Ratio:
    """Seats given back (cancelled or lapsed) that the waitlist placed someone in."""
    return Ratio(c[M.REFILLED], c[M.SEATS_FREED])


def seat_refill_rate(c: Counts) -> Ratio:
    """Seats given back before the visit that anyone took again ÷ seats given back, per slot
    min(given back, placed after the first was given back) (visit date, decision 258)."""
    return Ratio(c.metrics.get(refills.SEATS_RETAKEN, 0), c.metrics.get(refills.SEATS_FREED, 0))


def peak_hours(c: Counts) -> list[int]:
    """Bookings placed in each local hour, 0-23."""
    return [c.metrics.get(name, 0) for name in HOURS]


def arpu(c: Counts) -> Ratio:
    """Revenue (fen) per active user of the period."""
    return Ratio(revenue(c), c.active_users or 0)


def no_show_rate(c: Counts) -> Ratio:
    return Ratio(c[M.VISIT_NO_SHOW], c[M.VISIT_CONFIRMED])


def booked_in_advance_rate(c: Counts) -> Ratio:
    """预约诊疗率: completed visits not registered at the desk ÷ all completed visits."""
    return Ratio(c[M.VISIT_COMPLETED_BOOKED], c[M.VISIT_COMPLETED])


def waitlist_conversion(c: Counts) -> Ratio:
    """Waitlist entries that ended with a seat ÷ entries that were in line (visit date)."""
    return Ratio(c[M.VISIT_WAITLIST_BOOKED], c[M.VISIT_WAITERS])


def paying_arpu(c: Counts) -> Ratio:
    """Revenue (fen) per distinct account that paid a fee in the period."""
    return Ratio(revenue(c), c.payers or 0)


@dataclass(frozen=True)
class Duration:
    """A histogram of minutes: bucket lower edge -> visits (models/statistics/metrics.BUCKET_EDGES)."""

    histogram: dict[int, int]

    @property
    def count(self) -> int:
        return sum(self.histogram.values())

    def percentile(self, percent: int) -> int | None:
        """The lower edge of the bucket holding the `percent`th percentile (nearest rank)."""
        count = self.count
        if not count:
            return None
        rank = max(1, (percent * count + 99) // 100)
        seen = 0
        for edge in sorted(self.histogram):
            seen += self.histogram[edge]
            if seen >= rank:
                return edge
        return None  # unreachable: the ranks end at `count`


def _histogram(c: Counts, prefix: str) -> Duration:
    return Duration(
        {int(name.removeprefix(prefix)): v for name, v in c.metrics.items() if name.startswith(prefix) and v}
    )


def wait_after_arrival(c: Counts) -> Duration:
    """Called - max(check-in, slot start), in minutes (visit date)."""
    return _histogram(c, WAIT_PREFIX)


def consultation_length(c: Counts) -> Duration:
    """Completed - called, in minutes (visit date)."""
    return _histogram(c, CONSULT_PREFIX)


@dataclass(frozen=True)
class Cohort:
    """Accounts whose first activity fell in one month, and how many of them were active in each
    month after it (within the query's range), from stat_activity."""

    accounts: int
    active_later: tuple[int, ...]  # one month later, two months later, ...

    def retention(self, months_later: int) -> Ratio:
        active = self.active_later[months_later - 1] if months_later <= len(self.active_later) else 0
        return Ratio(active, self.accounts)


@dataclass(frozen=True)
class KpiRow:
    key: date | int  # the period's first day, or the department's / doctor's id
    start: date
    end: date
    current: Counts
    previous: Counts


# ---------------------------------------------------------------- periods


def period_start(day: date, grouping: Grouping) -> date:
    if grouping is Grouping.WEEK:
        return day - timedelta(days=day.weekday())
    if grouping is Grouping.MONTH:
        return day.replace(day=1)
    return day


def period_end(start: date, grouping: Grouping) -> date:
    if grouping is Grouping.WEEK:
        return start + timedelta(days=6)
    if grouping is Grouping.MONTH:
        return start.replace(day=calendar.monthrange(start.year, start.month)[1])
    return start


def month_back(day: date, *, is_last: bool = False) -> date:
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    last = calendar.monthrange(year, month)[1]
    return date(year, month, last if is_last else min(day.day, last))


def previous_span(start: date, end: date, grouping: Grouping) -> tuple[date, date]:
    """The span a row is compared with: the same part of the period before."""
    if grouping is Grouping.DAY:
        return start - timedelta(days=1), end - timedelta(days=1)
    if grouping is Grouping.WEEK:
        return start - timedelta(days=7), end - timedelta(days=7)
    if grouping is Grouping.MONTH:
        full_to_end = end == period_end(period_start(end, grouping), grouping)
        return month_back(start), month_back(end, is_last=full_to_end)
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def periods(start: date, end: date, grouping: Grouping) -> list[tuple[date, date]]:
    out = []
    cursor = start
    while cursor <= end:
        last = min(period_end(period_start(cursor, grouping), grouping), end)
        out.append((cursor, last))
        cursor = last + timedelta(days=1)
    return out


# ---------------------------------------------------------------- reading


_day = day_value
_as_date = as_date
_rows = rows
_moment = moment_value


def _filters(spec: KpiFilter, department: str, doctor: str, values: list[Any]) -> str:
    clauses = ""
    if spec.department_id is not None:
        clauses += f" AND {department} = ?"
        values.append(spec.department_id)
    if spec.doctor_id is not None:
        clauses += f" AND {doctor} = ?"
        values.append(spec.doctor_id)
    return clauses


async def _read(
    spec: KpiFilter,
    start: date,
    end: date,
    key: str,
    ended_before: date,
    now: datetime,
    whole_months: frozenset[date] = frozenset(),
) -> dict[Any, Counts]:
    """Counts per key ('day', 'department_id' or 'doctor_id') over [start, end]; no-show counters
    only for days before `ended_before`. Frozen rows up to the horizon (decision 257), stat_daily
    for the days they do not cover. Hospital-wide by day, the counters of days of `whole_months`
    (frozen calendar months only read whole) are left out: `_months` reads them per month."""
    dialect = connections.get("default").capabilities.dialect
    out: dict[Any, Counts] = defaultdict(Counts)
    horizon = await frozen.through()
    live = [(start, end)]
    if horizon is not None and horizon >= start:
        if key == "day" and spec.department_id is None and spec.doctor_id is None:
            # Hospital-wide days: one frozen row per day and metric.
            found = []
            for first, last in _without_months(start, min(end, horizon), whole_months):
                sql = (
                    "SELECT start AS k, metric, value AS total FROM stat_frozen"
                    " WHERE kind = 'day' AND start BETWEEN ? AND ?"
                )
                found += await _rows(sql, [_day(dialect, first), _day(dialect, last)])
            live = [(horizon + timedelta(days=1), end)]
        elif key != "day":
            # Departments and doctors: one frozen row per doctor, calendar month and metric for the
            # whole months of the range, stat_daily for the days before and after them.
            first = start if start.day == 1 else frozen.next_month(start)
            last = frozen.month_start(min(end, horizon))
            if frozen.month_end(last) > min(end, horizon):
                last = frozen.month_start(last - timedelta(days=1))
            found = []
            if first <= last:
                values: list[Any] = [_day(dialect, first), _day(dialect, last)]
                sql = (
                    f"SELECT {key} AS k, metric, SUM(value) AS total FROM stat_frozen"  # noqa: S608 (fixed column names; values bound)
                    " WHERE kind = 'month' AND start BETWEEN ? AND ?"
                )
                sql += _filters(spec, "department_id", "doctor_id", values) + f" GROUP BY {key}, metric"
                found = await _rows(sql, values)
                live = [(start, first - timedelta(days=1)), (frozen.month_end(last) + timedelta(days=1), end)]
        else:
            found = []
        for row in found:
            out[_key(row["k"], key)].metrics[row["metric"]] += int(row["total"])

    for live_start, live_end in live:
        if live_start > live_end:
            continue
        values = [_day(dialect, ended_before), _day(dialect, live_start), _day(dialect, live_end)]
        ended = ", ".join(f"'{name}'" for name in ENDED_ONLY)
        sql = (
            f"SELECT {key} AS k, metric,"  # noqa: S608 (fixed column names; values bound)
            f" SUM(CASE WHEN metric NOT IN ({ended}) OR day < ? THEN value ELSE 0 END) AS total"
            " FROM stat_daily WHERE day BETWEEN ? AND ?"
        )
        sql += _filters(spec, "department_id", "doctor_id", values) + f" GROUP BY {key}, metric"
        for row in await _rows(sql, values):
            out[_key(row["k"], key)].metrics[row["metric"]] += int(row["total"])
        await _read_refills(spec, live_start, live_end, key, horizon, out)

    schedule_key = {"day": "date", "department_id": "department_id", "doctor_id": "doctor_id"}[key]
    values = [_day(dialect, start), _day(dialect, end), _moment(dialect, now)]
    sql = (
        f"SELECT {schedule_key} AS k, SUM(capacity) AS total FROM schedule"  # noqa: S608 (fixed column names; values bound)
        " WHERE date BETWEEN ? AND ? AND status = 'open' AND release_at <= ?"
    )
    sql += _filters(spec, "department_id", "doctor_id", values) + f" GROUP BY {schedule_key}"
    for row in await _rows(sql, values):
        out[_key(row["k"], key)].capacity += int(row["total"])

    return out


def _without_months(start: date, end: date, months: frozenset[date]) -> list[Span]:
    """[start, end] less the days of `months`, as ranges."""
    out: list[Span] = []
    cursor = start
    while cursor <= end:
        month = frozen.month_start(cursor)
        if month in months:
            cursor = frozen.month_end(month) + timedelta(days=1)
            continue
        last = min(end, frozen.month_end(month))
        if out and out[-1][1] + timedelta(days=1) == cursor:
            out[-1] = (out[-1][0], last)
        else:
            out.append((cursor, last))
        cursor = last + timedelta(days=1)
    return out


async def _months(months: frozenset[date]) -> dict[date, Counts]:
    """Hospital-wide counters of frozen calendar months, summed over the doctors' month rows."""
    out: dict[date, Counts] = defaultdict(Counts)
    if not months:
        return out
    dialect = connections.get("default").capabilities.dialect
    marks = ", ".join("?" for _ in months)
    found = await _rows(
        f"SELECT start, metric, SUM(value) AS total FROM stat_frozen WHERE kind = 'month'"  # noqa: S608 (marks only)
        f" AND start IN ({marks}) GROUP BY start, metric",
        [_day(dialect, month) for month in sorted(months)],
    )
    for row in found:
        out[_as_date(row["start"])].metrics[row["metric"]] += int(row["total"])
    return out


async def _read_refills(
    spec: KpiFilter, start: date, end: date, key: str, horizon: date | None, out: dict[Any, Counts]
) -> None:
    """Seat refills (decision 258) of [start, end]: frozen per doctor and day up to the horizon, read
    from the booking history after it."""
    if horizon is not None and start <= horizon:
        dialect = connections.get("default").capabilities.dialect
        column = "start" if key == "day" else key
        values: list[Any] = [_day(dialect, start), _day(dialect, min(end, horizon))]
        sql = (
            f"SELECT {column} AS k, metric, SUM(value) AS total FROM stat_frozen"  # noqa: S608 (fixed column names; values bound)
            " WHERE kind = 'doctor_day' AND start BETWEEN ? AND ?"
        )
        sql += _filters(spec, "department_id", "doctor_id", values) + f" GROUP BY {column}, metric"
        for row in await _rows(sql, values):
            out[_key(row["k"], key)].metrics[row["metric"]] += int(row["total"])
        start = horizon + timedelta(days=1)
    if start > end:
        return
    for refill in await refills.by_slot(
        start, end, department_id=spec.department_id, doctor_id=spec.doctor_id
    ):
        group = {"day": refill.day, "department_id": refill.department_id, "doctor_id": refill.doctor_id}
        metrics = out[group[key]].metrics
        metrics[refills.SEATS_FREED] += refill.freed
        metrics[refills.SEATS_RETAKEN] += refill.retaken


def _key(value: Any, key: str) -> Any:
    return _as_date(value) if key == "day" else int(value)


# Tables of one row per account and local day: activity (DAU/MAU) and fees paid (paying users).
ACCOUNT_DAYS = ("stat_activity", "stat_payer")


async def _accounts_by_day(table: str, start: date, end: date) -> dict[date, int]:
    """Distinct accounts per day (DAU, payers per day): the table holds one row per account and day;
    frozen days are one row each (decision 257)."""
    assert table in ACCOUNT_DAYS
    dialect = connections.get("default").capabilities.dialect
    out: dict[date, int] = {}
    horizon = await frozen.through()
    if horizon is not None and horizon >= start:
        found = await _rows(
            "SELECT start, value FROM stat_frozen WHERE kind = 'accounts_day' AND metric = ?"
            " AND start BETWEEN ? AND ?",
            [table, _day(dialect, start), _day(dialect, min(end, horizon))],
        )
        out.update({_as_date(row["start"]): int(row["value"]) for row in found})
        start = horizon + timedelta(days=1)
    if start <= end:
        found = await _rows(
            f"SELECT day, COUNT(*) AS users FROM {table} WHERE day BETWEEN ? AND ? GROUP BY day",  # noqa: S608 (fixed table names)
            [_day(dialect, start), _day(dialect, end)],
        )
        out.update({_as_date(row["day"]): int(row["users"]) for row in found})
    return out


async def _accounts(table: str, start: date, end: date) -> int:
    """Distinct accounts on any day of the span (WAU/MAU, payers of a week or month)."""
    assert table in ACCOUNT_DAYS
    dialect = connections.get("default").capabilities.dialect
    rows = await _rows(
        f"SELECT COUNT(DISTINCT account_id) AS users FROM {table} WHERE day BETWEEN ? AND ?",  # noqa: S608 (fixed table names)
        [_day(dialect, start), _day(dialect, end)],
    )
    return int(rows[0]["users"])


Span = tuple[date, date]
# Spans at most this many days apart are counted in one statement.
NEAR_DAYS = 7


async def _accounts_per_span(table: str, spans: list[tuple[date, date]]) -> dict[Any, int]:
    """Distinct accounts in each span (WAU/MAU, payers of weeks and months): one statement for the
    spans that do not overlap (every week, every whole month), one more for each that does (the
    previous span of a partial month)."""
    assert table in ACCOUNT_DAYS
    dialect = connections.get("default").capabilities.dialect
    out: dict[Any, int] = dict.fromkeys(spans, 0)
    spans = await _frozen_spans(table, spans, out)
    disjoint: list[Span] = []
    overlapping: list[Span] = []
    for span in sorted(set(spans)):
        (disjoint if not disjoint or span[0] > disjoint[-1][1] else overlapping).append(span)
    # Spans close together share one statement over their days; spans far apart (the ends of a
    # year whose middle is frozen) do not, so no statement reads the frozen days between them.
    groups: list[list[Span]] = []
    for span in disjoint:
        if groups and (span[0] - groups[-1][-1][1]).days <= NEAR_DAYS:
            groups[-1].append(span)
        else:
            groups.append([span])
    for group in groups:
        values: list[Any] = []
        cases = []
        for index, (start, end) in enumerate(group):
            cases.append(f"WHEN day BETWEEN ? AND ? THEN {index}")
            values += [_day(dialect, start), _day(dialect, end)]
        values += [_day(dialect, group[0][0]), _day(dialect, group[-1][1])]
        sql = (
            f"SELECT span, COUNT(DISTINCT account_id) AS users FROM (SELECT CASE {' '.join(cases)} END"  # noqa: S608 (fixed table names; values bound)
            f" AS span, account_id FROM {table} WHERE day BETWEEN ? AND ?) AS days"
            " WHERE span IS NOT NULL GROUP BY span"
        )
        for row in await _rows(sql, values):
            out[group[int(row["span"])]] = int(row["users"])
    for start, end in overlapping:
        out[(start, end)] = await _accounts(table, start, end)
    return out


async def _frozen_spans(table: str, spans: list[Span], out: dict[Any, int]) -> list[Span]:
    """Fill `out` for the spans that are whole calendar weeks or months already frozen; returns the
    others."""
    horizon = await frozen.through()
    if horizon is None:
        return spans
    wanted: dict[tuple[str, date], tuple[date, date]] = {}
    for start, end in spans:
        if end > horizon:
            continue
        if start.weekday() == 0 and end == start + timedelta(days=6):
            wanted[("accounts_week", start)] = (start, end)
        elif start.day == 1 and end == frozen.month_end(start):
            wanted[("accounts_month", start)] = (start, end)
    if not wanted:
        return spans
    dialect = connections.get("default").capabilities.dialect
    starts = [start for _, start in wanted]
    found = await _rows(
        "SELECT kind, start, value FROM stat_frozen WHERE kind IN ('accounts_week', 'accounts_month')"
        " AND metric = ? AND start BETWEEN ? AND ?",
        [table, _day(dialect, min(starts)), _day(dialect, max(starts))],
    )
    served = set()
    for row in found:
        span = wanted.get((row["kind"], _as_date(row["start"])))
        if span is not None:
            out[span] = int(row["value"])
            served.add(span)
    return [span for span in spans if span not in served]


async def cohorts(first: date, last: date) -> dict[date, Cohort]:
    """Monthly retention cohorts: accounts by the month of their first activity ever (cohorts of the
    months of [first, last]), and how many of each were active in each later month up to `last`.
    Cells of months frozen (decision 257) are read, the others computed from stat_activity."""
    dialect = connections.get("default").capabilities.dialect
    first_month, last_month = frozen.month_start(first), frozen.month_start(last)
    horizon = await frozen.through()
    by_cohort: dict[date, dict[date, int]] = defaultdict(dict)
    frozen_until = min(horizon, last) if horizon is not None else None
    found = []
    if frozen_until is not None and frozen_until >= frozen.month_end(first_month):
        found = await _rows(
            "SELECT start, metric, value FROM stat_frozen WHERE kind = 'cohort' AND start BETWEEN ? AND ?",
            [_day(dialect, first_month), _day(dialect, last_month)],
        )
    for row in found:
        month = frozen.month_of_cohort_metric(row["metric"])
        if frozen_until is not None and frozen.month_end(month) <= frozen_until:
            by_cohort[_as_date(row["start"])][month] = int(row["value"])
    month = first_month
    while month <= last_month:
        if frozen_until is None or frozen.month_end(month) > frozen_until:
            cells = await frozen.cohort_cells(month, min(frozen.month_end(month), last))
            for cohort, accounts in cells.items():
                if cohort >= first_month:
                    by_cohort[cohort][month] = accounts
        month = frozen.next_month(month)
    out = {}
    for start, months in by_cohort.items():
        later: list[int] = []
        cursor = _next_month(start)
        while cursor <= last and len(later) < RETENTION_MONTHS:
            later.append(months.get(cursor, 0))
            cursor = _next_month(cursor)
        out[start] = Cohort(accounts=months.get(start, 0), active_later=tuple(later))
    return out


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _summed(
    daily: dict[Any, Counts], start: date, end: date, monthly: dict[date, Counts] | None = None
) -> Counts:
    """The span's counts; a whole month read per month takes its counters from `monthly` and only
    the capacity from its days."""
    total = Counts()
    whole = monthly is not None and start in monthly and end == frozen.month_end(start)
    if whole and monthly is not None:
        total.add(monthly[start])
    day = start
    while day <= end:
        counts = daily.get(day)
        if counts is not None:
            if whole:
                total.capacity += counts.capacity
            else:
                total.add(counts)
        day += timedelta(days=1)
    return total


async def kpi_rows(spec: KpiFilter, *, now: datetime, tz: ZoneInfo) -> list[KpiRow]:
    today = now.astimezone(tz).date()
    if spec.grouping in BY_PERIOD:
        spans = periods(spec.start, spec.end, spec.grouping)
        earliest = previous_span(*spans[0], spec.grouping)[0] if spans else spec.start
        hospital_wide = spec.department_id is None and spec.doctor_id is None
        # Calendar months frozen whole and only ever summed whole (MONTH, hospital-wide): one row
        # per month and metric instead of each of its days.
        whole: frozenset[date] = frozenset()
        horizon = await frozen.through()
        if spec.grouping is Grouping.MONTH and hospital_wide and horizon is not None:
            wanted = [span for pair in spans for span in (pair, previous_span(*pair, spec.grouping))]
            is_whole = {s for s, e in wanted if s.day == 1 and e == frozen.month_end(s) and e <= horizon}
            partial_days = [(s, e) for s, e in wanted if s not in is_whole or e != frozen.month_end(s)]
            whole = frozenset(
                m for m in is_whole if not any(s <= frozen.month_end(m) and e >= m for s, e in partial_days)
            )
        daily = await _read(spec, earliest, spec.end, "day", today, now, whole)
        monthly = await _months(whole)
        rows = []
        by_day = spec.grouping is Grouping.DAY and hospital_wide
        active: dict[Any, int] = {}
        paying: dict[Any, int] = {}
        if by_day:
            active = await _accounts_by_day("stat_activity", earliest, spec.end)
            paying = await _accounts_by_day("stat_payer", earliest, spec.end)
        elif hospital_wide:
            wanted = [span for pair in spans for span in (pair, previous_span(*pair, spec.grouping))]
            active = await _accounts_per_span("stat_activity", wanted)
            paying = await _accounts_per_span("stat_payer", wanted)
        by_month = spec.grouping is Grouping.MONTH and hospital_wide
        cohort_of = await cohorts(earliest, spec.end) if by_month else {}
        for start, end in spans:
            before = previous_span(start, end, spec.grouping)
            current, previous = _summed(daily, start, end, monthly), _summed(daily, *before, monthly)
            if by_day:
                current.active_users, previous.active_users = active.get(start, 0), active.get(before[0], 0)
                current.payers, previous.payers = paying.get(start, 0), paying.get(before[0], 0)
            elif hospital_wide:
                current.active_users, previous.active_users = active[(start, end)], active[before]
                current.payers, previous.payers = paying[(start, end)], paying[before]
            if by_month:
                empty = Cohort(0, ())
                current.cohort = cohort_of.get(period_start(start, Grouping.MONTH), empty)
                previous.cohort = cohort_of.get(period_start(before[0], Grouping.MONTH), empty)
            rows.append(KpiRow(key=start, start=start, end=end, current=current, previous=previous))
        return rows
    key = "department_id" if spec.grouping is Grouping.DEPARTMENT else "doctor_id"
    before = previous_span(spec.start, spec.end, spec.grouping)
    now_by_group = await _read(spec, spec.start, spec.end, key, today, now)
    before_by_group = await _read(spec, before[0], before[1], key, today, now)
    return [
        KpiRow(
            key=group,
            start=spec.start,
            end=spec.end,
            current=now_by_group[group],
            previous=before_by_group.get(group, Counts()),
        )
        for group in sorted(now_by_group)
    ]


def failures(c: Counts) -> Iterable[tuple[str, int]]:
    """挂号失败 by reason: the refusals and the holds whose payment lapsed."""
    for metric in REFUSALS:
        yield metric.value.removeprefix("refused_"), c[metric]
    yield "payment_lapsed", c[M.LAPSED]


def completed(c: Counts) -> int:
    return c[M.VISIT_COMPLETED]


CountFigure = Callable[[Counts], int]
RatioFigure = Callable[[Counts], Ratio]
DurationFigure = Callable[[Counts], Duration]


def period_label(row: KpiRow, grouping: Grouping) -> str:
    if grouping is Grouping.WEEK:
        year, week, _ = row.start.isocalendar()
        return f"{year}-W{week:02d}"
    if grouping is Grouping.MONTH:
        return row.start.strftime("%Y-%m")
    return row.start.isoformat() if grouping is Grouping.DAY else str(row.key)
