"""Statistics: the operations plan's KPIs by day, week, month, department or doctor (admin only)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.types.info import Info

from models.statistics import kpis as kpi_models
from resolvers import statistics as use_cases
from resolvers.loaders import DepartmentByIdLoader, DoctorByIdLoader
from schema.errors import InvalidInputError
from schema.ids import parse_optional_id
from schema.list_bounds import at_most, planned
from schema.permissions import IsAdmin, IsStatisticsDisplayOrAdmin

KpiGroupBy = kpi_models.Grouping
strawberry.enum(KpiGroupBy, name="KpiGroupBy")


PLANNED_FAILURE_KINDS = 20  # refusal reasons of a booking attempt
PLANNED_KPI_ROWS = 60  # a two-month daily table, or one row per department
PLANNED_DEPARTMENTS = 200  # top-level and sub-departments together


@strawberry.type(description="A count beside the previous period's.")
class KpiCount:
    value: int
    previous: int


@strawberry.type
class KpiRatioValue:
    numerator: int
    denominator: int
    value: float | None = strawberry.field(
        description="numerator ÷ denominator; null when nothing to divide."
    )

    @classmethod
    def of(cls, ratio: kpi_models.Ratio) -> KpiRatioValue:
        return cls(numerator=ratio.numerator, denominator=ratio.denominator, value=ratio.value)


@strawberry.type(description="A ratio with its numerator and denominator, beside the previous period's.")
class KpiRatio(KpiRatioValue):
    previous: KpiRatioValue


@strawberry.type(description="挂号失败 of one reason.")
class KpiFailure:
    reason: str = strawberry.field(
        description="sold_out, not_released, quota, duplicate, blacklisted, closed or payment_lapsed."
    )
    count: int
    previous: int


@strawberry.type(description="A duration's distribution from merged minute histograms.")
class KpiDurationValue:
    count: int = strawberry.field(description="Visits measured.")
    p50: int | None = strawberry.field(description="Median, minutes (the lower edge of its bucket).")
    p90: int | None = strawberry.field(description="90th percentile, minutes (the lower edge of its bucket).")

    @classmethod
    def of(cls, duration: kpi_models.Duration) -> KpiDurationValue:
        return cls(count=duration.count, p50=duration.percentile(50), p90=duration.percentile(90))


@strawberry.type(description="A duration's p50/p90 beside the previous period's.")
class KpiDuration(KpiDurationValue):
    previous: KpiDurationValue


@strawberry.type(
    description="Of the accounts first active in this month, the share active a number of months later."
)
class KpiRetention:
    months_later: int
    numerator: int = strawberry.field(description="Accounts of the cohort active that month.")
    denominator: int = strawberry.field(description="Accounts first active in this month.")
    value: float | None
    previous: KpiRatioValue = strawberry.field(
        description="The previous month's cohort, as many months later."
    )


def _retention(row: kpi_models.KpiRow) -> list[KpiRetention] | None:
    now, before = row.current.cohort, row.previous.cohort
    if now is None or before is None:
        return None
    out = []
    for months_later in range(1, len(now.active_later) + 1):
        ratio = now.retention(months_later)
        out.append(
            KpiRetention(
                months_later=months_later,
                numerator=ratio.numerator,
                denominator=ratio.denominator,
                value=ratio.value,
                previous=KpiRatioValue.of(before.retention(months_later)),
            )
        )
    return out


def _duration(row: kpi_models.KpiRow, figure: kpi_models.DurationFigure) -> KpiDuration:
    now = KpiDurationValue.of(figure(row.current))
    return KpiDuration(
        count=now.count, p50=now.p50, p90=now.p90, previous=KpiDurationValue.of(figure(row.previous))
    )


def _ratio(row: kpi_models.KpiRow, figure: kpi_models.RatioFigure) -> KpiRatio:
    now, before = figure(row.current), figure(row.previous)
    return KpiRatio(
        numerator=now.numerator,
        denominator=now.denominator,
        value=now.value,
        previous=KpiRatioValue.of(before),
    )


def _count(row: kpi_models.KpiRow, figure: kpi_models.CountFigure) -> KpiCount:
    return KpiCount(value=figure(row.current), previous=figure(row.previous))


@strawberry.type(
    description=(
        "One period or group. Booking-date figures (registrations, successRate, failures, "
        "paymentConversion, cancellation rates) fall on the local day of the change; visit-date figures "
        "(utilization, consumedUtilization, noShowRate, completed) on the session's date; revenue on the "
        "payment date. Times are local to the hospital (Asia/Shanghai)."
    )
)
class KpiRow:
    period: str = strawberry.field(description="2026-03-02, 2026-W10, 2026-03, or the group's id.")
    period_start: date
    period_end: date
    department_id: strawberry.ID | None
    doctor_id: strawberry.ID | None
    registrations: KpiCount = strawberry.field(description="Bookings placed (booking date).")
    revenue: KpiCount = strawberry.field(description="Fees paid minus refunded, in fen (payment date).")
    utilization: KpiRatio = strawberry.field(
        description="号源利用率: seats booked ÷ released capacity of sessions not stopped (visit date)."
    )
    consumed_utilization: KpiRatio = strawberry.field(
        description="Checked in (then completed or not) ÷ released capacity (visit date)."
    )
    success_rate: KpiRatio = strawberry.field(
        description="挂号成功率: confirmed ÷ attempts (placed + refused), booking date."
    )
    failures: list[KpiFailure] = strawberry.field(metadata=planned(PLANNED_FAILURE_KINDS))
    payment_conversion: KpiRatio = strawberry.field(description="Holds paid ÷ holds placed.")
    cancellation_rate: KpiRatio = strawberry.field(description="Cancelled ÷ placed.")
    late_cancellation_rate: KpiRatio = strawberry.field(
        description="Cancelled within 24 h of the visit ÷ placed."
    )
    no_show_rate: KpiRatio = strawberry.field(
        description="爽约率: no-shows ÷ confirmed bookings of ended sessions (days before today)."
    )
    completed: KpiCount = strawberry.field(description="Visits completed (visit date).")
    refill_rate: KpiRatio = strawberry.field(
        description=(
            "Seats given back (cancelled or lapsed) that the waitlist refilled ÷ seats given back, "
            "booking date."
        )
    )
    seat_refill_rate: KpiRatio = strawberry.field(
        description=(
            "Seats given back before the visit that anyone (waitlist or not) took again ÷ seats given "
            "back; per slot min(given back, placed after the first was given back), visit date."
        )
    )
    booked_in_advance_rate: KpiRatio = strawberry.field(
        description=(
            "预约诊疗率: completed visits booked ahead (not at the desk) ÷ all completed visits, "
            "walk-ins included (visit date)."
        )
    )
    waitlist_conversion: KpiRatio = strawberry.field(
        description=(
            "Waitlist entries that ended with a seat ÷ entries that were in line when they ended "
            "(visit date)."
        )
    )
    wait_after_arrival: KpiDuration = strawberry.field(
        description="Called − max(check-in, slot start), minutes, of visits finished (visit date)."
    )
    consultation_length: KpiDuration = strawberry.field(
        description="Completed − called, minutes (visit date)."
    )
    peak_hours: list[int] = strawberry.field(
        description="Bookings placed in each local hour 0-23 (this period).", metadata=at_most(24)
    )
    active_users: KpiCount | None = strawberry.field(
        description="DAU / WAU / MAU: distinct accounts that used the app in the period (hospital-wide)."
    )
    arpu: KpiRatio | None = strawberry.field(
        description="Revenue (fen) ÷ active users, hospital-wide periods."
    )
    paying_arpu: KpiRatio | None = strawberry.field(
        description="Revenue (fen) ÷ distinct accounts that paid a fee in the period, hospital-wide periods."
    )
    retention: list[KpiRetention] | None = strawberry.field(
        description="Monthly retention of the accounts first active in this month (MONTH, hospital-wide), "
        "for up to 12 months after it.",
        metadata=at_most(kpi_models.RETENTION_MONTHS),
    )

    @strawberry.field(description="The department's or doctor's name for those groupings.")
    async def group_name(self, info: Info) -> str | None:
        if self.doctor_id is not None and self.period == str(self.doctor_id):
            doctor = await info.context.loader(DoctorByIdLoader).load(int(self.doctor_id))
            return doctor.name if doctor else None
        if self.department_id is not None and self.period == str(self.department_id):
            department = await info.context.loader(DepartmentByIdLoader).load(int(self.department_id))
            return department.name if department else None
        return None

    @classmethod
    def of(cls, row: kpi_models.KpiRow, spec: kpi_models.KpiFilter) -> KpiRow:
        grouping = spec.grouping
        group = row.key if isinstance(row.key, int) else None
        department = group if grouping is KpiGroupBy.DEPARTMENT else spec.department_id
        doctor = group if grouping is KpiGroupBy.DOCTOR else spec.doctor_id
        failures_now = dict(kpi_models.failures(row.current))
        failures_before = dict(kpi_models.failures(row.previous))
        return cls(
            period=kpi_models.period_label(row, grouping),
            period_start=row.start,
            period_end=row.end,
            department_id=_id(department),
            doctor_id=_id(doctor),
            registrations=_count(row, kpi_models.registrations),
            revenue=_count(row, kpi_models.revenue),
            utilization=_ratio(row, kpi_models.utilization),
            consumed_utilization=_ratio(row, kpi_models.consumed_utilization),
            success_rate=_ratio(row, kpi_models.success_rate),
            failures=[
                KpiFailure(reason=reason, count=count, previous=failures_before[reason])
                for reason, count in failures_now.items()
            ],
            payment_conversion=_ratio(row, kpi_models.payment_conversion),
            cancellation_rate=_ratio(row, kpi_models.cancellation_rate),
            late_cancellation_rate=_ratio(row, kpi_models.late_cancellation_rate),
            no_show_rate=_ratio(row, kpi_models.no_show_rate),
            completed=_count(row, kpi_models.completed),
            refill_rate=_ratio(row, kpi_models.refill_rate),
            seat_refill_rate=_ratio(row, kpi_models.seat_refill_rate),
            booked_in_advance_rate=_ratio(row, kpi_models.booked_in_advance_rate),
            waitlist_conversion=_ratio(row, kpi_models.waitlist_conversion),
            wait_after_arrival=_duration(row, kpi_models.wait_after_arrival),
            consultation_length=_duration(row, kpi_models.consultation_length),
            peak_hours=kpi_models.peak_hours(row.current),
            active_users=(
                KpiCount(value=row.current.active_users, previous=row.previous.active_users or 0)
                if row.current.active_users is not None
                else None
            ),
            arpu=_ratio(row, kpi_models.arpu) if row.current.active_users is not None else None,
            paying_arpu=_ratio(row, kpi_models.paying_arpu) if row.current.payers is not None else None,
            retention=_retention(row),
        )


def _id(value: int | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.type
class KpiTable:
    rows: list[KpiRow] = strawberry.field(metadata=planned(PLANNED_KPI_ROWS))


KpisResult = Annotated[KpiTable | InvalidInputError, strawberry.union("KpisResult")]


@strawberry.type
class DepartmentWaiting:
    department_id: strawberry.ID
    name: str
    count: int = strawberry.field(description="Patients checked in and waiting now.")


@strawberry.type
class DashboardDay:
    date: date
    registrations: int


@strawberry.type(description="数据大屏: today's figures, local to the hospital.")
class Dashboard:
    date: date
    registrations: int = strawberry.field(description="Bookings placed today.")
    revenue: int = strawberry.field(description="Fees paid minus refunded today, in fen.")
    no_shows: int = strawberry.field(description="爽约 so far today.")
    calls_last_hour: int = strawberry.field(description="Patients called in the last hour.")
    utilization: KpiRatioValue = strawberry.field(
        description="Seats booked ÷ released capacity of today's sessions."
    )
    waiting: list[DepartmentWaiting] = strawberry.field(metadata=planned(PLANNED_DEPARTMENTS))
    trend: list[DashboardDay] = strawberry.field(
        description="Registrations of the last 14 days.", metadata=at_most(14)
    )

    @classmethod
    def of(cls, figures: dict[str, Any]) -> Dashboard:
        ratio = figures["utilization"]
        return cls(
            date=date.fromisoformat(figures["date"]),
            registrations=figures["registrations"],
            revenue=figures["revenue"],
            no_shows=figures["noShows"],
            calls_last_hour=figures["callsLastHour"],
            utilization=KpiRatioValue.of(kpi_models.Ratio(ratio["numerator"], ratio["denominator"])),
            waiting=[
                DepartmentWaiting(
                    department_id=strawberry.ID(str(w["departmentId"])), name=w["name"], count=w["count"]
                )
                for w in figures["waiting"]
            ],
            trend=[
                DashboardDay(date=date.fromisoformat(t["date"]), registrations=t["registrations"])
                for t in figures["trend"]
            ],
        )


@strawberry.type(description="A token for the /dashboard page; revoke it with revokeDisplayToken.")
class DashboardToken:
    token: str
    token_id: strawberry.ID
    expires_at: datetime
    page_path: str = strawberry.field(description="Open this path with the token: /dashboard?token=…")


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="The KPIs per period or group over [from, to] (local dates), beside the previous period.",
    )
    async def kpis(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        group_by: KpiGroupBy,
        department_id: strawberry.ID | None = None,
        doctor_id: strawberry.ID | None = None,
    ) -> KpisResult:
        spec = use_cases.kpi_filter(
            from_,
            to,
            group_by,
            parse_optional_id(department_id, "departmentId"),
            parse_optional_id(doctor_id, "doctorId"),
        )
        rows = await use_cases.kpis(info.context, spec)
        return KpiTable(rows=[KpiRow.of(row, spec) for row in rows])


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="A token for the big screen (数据大屏).")
    async def issue_dashboard_token(self, info: Info) -> DashboardToken:
        issued = await use_cases.issue_dashboard_token(info.context)
        return DashboardToken(
            token=issued.token,
            token_id=strawberry.ID(issued.token_id),
            expires_at=issued.expires_at,
            page_path=f"/dashboard?token={issued.token}",
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[IsStatisticsDisplayOrAdmin],
        description="The big screen's figures: now, then whenever they change (computed every few seconds).",
    )
    async def dashboard(self, info: Info) -> AsyncGenerator[Dashboard, None]:
        async for figures in use_cases.dashboard_stream(info.context):
            yield Dashboard.of(figures)
