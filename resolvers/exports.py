"""Exports of the KPI table and of booking records (issue 15): rows for the CSV and XLSX writers.

Bookings are read in keyset batches, newest first, with the `bookings` query's filters, so a large
range streams in bounded memory. Phone and ID numbers are masked unless the administrator reveals
them with a reason, which is audited once per export (decision 023, docs/decisions/185).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from models import audit
from models.accounts import Patient, reveal_id_number
from models.booking import Booking
from models.catalogue import Department, Doctor
from models.errors import InvalidInput
from models.identity import mask_phone
from models.scheduling import Schedule
from models.statistics import kpis as kpi_models
from resolvers.booking import BookingFilter, filtered
from resolvers.context import Context
from resolvers.statistics import kpis

BATCH = 1000
Cell = str | int | float | None

KPI_HEADER: tuple[str, ...] = (
    "时段 period",
    "开始 start",
    "结束 end",
    "挂号量 registrations",
    "上期 previous",
    "收入(分) revenue_fen",
    "上期 previous",
    "号源利用率 utilization",
    "已约 booked",
    "放号 capacity",
    "到诊利用率 consumed",
    "挂号成功率 success_rate",
    "成功 confirmed",
    "尝试 attempts",
    "支付转化 payment_conversion",
    "取消率 cancellation_rate",
    "24h内取消 late_cancellation_rate",
    "爽约率 no_show_rate",
    "爽约 no_shows",
    "应到 confirmed_due",
    "完成 completed",
    "活跃用户 active_users",
    "预约诊疗率 booked_in_advance_rate",
    "预约完成 completed_booked",
    "候补转化 waitlist_conversion",
    "候补成功 waitlist_booked",
    "候补人数 waiters",
    "候补补位率 refill_rate",
    "候诊p50(分) wait_p50_min",
    "候诊p90(分) wait_p90_min",
    "候诊人次 waits",
    "诊疗p50(分) consultation_p50_min",
    "诊疗p90(分) consultation_p90_min",
    "付费用户 paying_users",
    "人均收入(分) arpu_fen",
    "付费用户人均(分) paying_arpu_fen",
)

BOOKING_HEADER: tuple[str, ...] = (
    "预约号 booking_id",
    "状态 status",
    "就诊日期 visit_date",
    "就诊时间 slot_start",
    "科室 department",
    "医生 doctor",
    "序号 queue_number",
    "就诊人 patient",
    "手机 phone",
    "证件号 id_number",
    "费用(分) fee_fen",
    "下单时间 created_at",
)


def _value(ratio: kpi_models.Ratio) -> float | None:
    return round(ratio.value, 6) if ratio.value is not None else None


async def kpi_table(context: Context, spec: kpi_models.KpiFilter) -> list[Sequence[Cell]]:
    rows: list[Sequence[Cell]] = [KPI_HEADER]
    for row in await kpis(context, spec):
        now, before = row.current, row.previous
        utilization = kpi_models.utilization(now)
        success = kpi_models.success_rate(now)
        no_show = kpi_models.no_show_rate(now)
        rows.append(
            (
                kpi_models.period_label(row, spec.grouping),
                row.start.isoformat(),
                row.end.isoformat(),
                kpi_models.registrations(now),
                kpi_models.registrations(before),
                kpi_models.revenue(now),
                kpi_models.revenue(before),
                _value(utilization),
                utilization.numerator,
                utilization.denominator,
                _value(kpi_models.consumed_utilization(now)),
                _value(success),
                success.numerator,
                success.denominator,
                _value(kpi_models.payment_conversion(now)),
                _value(kpi_models.cancellation_rate(now)),
                _value(kpi_models.late_cancellation_rate(now)),
                _value(no_show),
                no_show.numerator,
                no_show.denominator,
                kpi_models.completed(now),
                now.active_users,
                *_new_figures(now),
            )
        )
    return rows


def _new_figures(now: kpi_models.Counts) -> tuple[Cell, ...]:
    advance = kpi_models.booked_in_advance_rate(now)
    waitlist = kpi_models.waitlist_conversion(now)
    wait, consultation = kpi_models.wait_after_arrival(now), kpi_models.consultation_length(now)
    hospital_wide = now.active_users is not None
    return (
        _value(advance),
        advance.numerator,
        _value(waitlist),
        waitlist.numerator,
        waitlist.denominator,
        _value(kpi_models.refill_rate(now)),
        wait.percentile(50),
        wait.percentile(90),
        wait.count,
        consultation.percentile(50),
        consultation.percentile(90),
        now.payers,
        _value(kpi_models.arpu(now)) if hospital_wide else None,
        _value(kpi_models.paying_arpu(now)) if now.payers is not None else None,
    )


@dataclass(frozen=True)
class Reveal:
    reason: str


def reveal_of(flag: str | None, reason: str | None) -> Reveal | None:
    if flag not in {"1", "true", "yes"}:
        return None
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise InvalidInput(
            "reason", "say why the full phone and ID numbers are needed (at most 200 characters)"
        )
    return Reveal(reason)


async def booking_rows(
    context: Context, criteria: BookingFilter, reveal: Reveal | None
) -> AsyncIterator[list[Sequence[Cell]]]:
    """The header, then batches of rows, newest first."""
    if reveal is not None:
        await audit.record(
            context.viewer.account_id,
            "bookings.export_revealed",
            "bookings",
            "export",
            after={"filter": {k: str(v) for k, v in vars(criteria).items() if v is not None}},
            reason=reveal.reason,
        )
    yield [BOOKING_HEADER]
    tz = context.settings.tz
    last: int | None = None
    while True:
        query = await filtered(criteria)
        if last is not None:
            query = query.filter(id__lt=last)
        batch: list[Booking] = await query.order_by("-id").limit(BATCH)
        if not batch:
            return
        last = batch[-1].id
        patients = {p.id: p for p in await Patient.filter(id__in={b.patient_id for b in batch})}
        doctor_of = dict(
            await Schedule.filter(id__in={b.schedule_id for b in batch}).values_list("id", "doctor_id")
        )
        doctors = dict(await Doctor.filter(id__in=set(doctor_of.values())).values_list("id", "name"))
        departments = dict(
            await Department.filter(id__in={b.department_id for b in batch}).values_list("id", "name")
        )
        rows: list[Sequence[Cell]] = []
        for b in batch:
            patient = patients.get(b.patient_id)
            rows.append(
                (
                    b.id,
                    b.status.value,
                    b.visit_date.isoformat(),
                    b.slot_starts_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    departments.get(b.department_id, ""),
                    doctors.get(doctor_of.get(b.schedule_id), ""),
                    b.queue_number,
                    patient.name if patient else "",
                    _phone(patient, reveal),
                    _id_number(patient, reveal),
                    b.fee,
                    b.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
                )
            )
        yield rows


def _phone(patient: Patient | None, reveal: Reveal | None) -> str:
    if patient is None:
        return ""
    return patient.phone if reveal else mask_phone(patient.phone)


def _id_number(patient: Patient | None, reveal: Reveal | None) -> str:
    if patient is None:
        return ""
    return reveal_id_number(patient) if reveal else patient.id_number_masked
