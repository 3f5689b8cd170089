"""A month of activity: the rollup kept in each change's transaction equals a recomputation from the
raw records, counter by counter, and the kpis query reads the same figures (docs/decisions/180)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from tortoise.transactions import in_transaction

from gualema.settings import Settings
from models.catalogue import Doctor
from models.clock import utcnow
from models.reactions import change_schedule
from models.scheduling import Schedule, ScheduleStatus
from models.statistics import recompute
from models.statistics.metrics import Metric
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.statistics.scenario import KPIS, B, move, people, place, session_on

DAYS = range(-20, 10)  # twenty days back to nine ahead
SEATS = 4


def summed(figures: recompute.Figures, metric: Metric, doctor: int, before: date | None = None) -> int:
    return sum(
        value
        for (day, _, who, name), value in figures.items()
        if who == doctor and name == metric.value and (before is None or day < before)
    )


async def a_month_of_activity() -> tuple[list[int], int, date, date]:
    """Three doctors (two share a department); three patients a session; every kind of outcome."""
    shared = await factories.department()
    doctors = [
        (await factories.doctor(shared))[0],
        (await factories.doctor(shared))[0],
        (await factories.doctor())[0],
    ]
    patients = await people(9)
    now = utcnow()
    sessions = {}
    for number, doctor in enumerate(doctors):
        fee = 0 if number == 0 else 500
        for offset in DAYS:
            schedule, slot = await session_on(doctor, offset, capacity=SEATS, fee=fee)
            sessions[(number, offset)] = schedule
            booked_at = min(schedule.starts_at - timedelta(days=offset % 3 + 1, minutes=30), now)
            ended = schedule.ends_at < now
            mine = patients[number * 3 : number * 3 + 3]
            first, second, third = [await place(p, slot, booked_at) for p in mine]
            paid_at = booked_at + timedelta(minutes=5)
            if fee:
                await move(first, B.CONFIRMED, at=paid_at)
                await move(third, B.CONFIRMED, at=paid_at)
            if ended:
                await move(first, B.CHECKED_IN, B.IN_CONSULTATION, B.COMPLETED, at=schedule.starts_at)
            if fee and offset % 2 == 0:
                await move(second, B.EXPIRED, at=booked_at + timedelta(minutes=20))
            else:
                if fee:
                    await move(second, B.CONFIRMED, at=paid_at)
                if ended:
                    await move(second, B.NO_SHOW, at=schedule.ends_at)
            await move(third, B.CANCELLED, at=booked_at + timedelta(hours=1 + offset % 2 * 30))
    # 停诊: one coming session, and one past session after its patients were seen.
    for key in ((0, 5), (2, -1)):
        async with in_transaction():
            await change_schedule(sessions[key], ScheduleStatus.STOPPED, actor_id=None, reason="医生外出")
    first_day = min(s.date for s in sessions.values())
    last_day = max(s.date for s in sessions.values())
    return [d.id for d in doctors], shared.id, first_day, last_day


async def test_a_month_of_rollup_equals_the_recomputation_from_raw_records_and_the_kpis_read_it(
    gql: GraphQLClient, settings: Settings
) -> None:
    doctor_ids, shared_department, first_day, last_day = await a_month_of_activity()

    raw = await recompute.from_raw_records(settings.tz, set(doctor_ids))
    rolled = await recompute.from_rollup(set(doctor_ids))

    assert rolled == raw
    totals: Counter[str] = Counter()
    for (_, _, _, metric), value in raw.items():
        totals[metric] += value
    assert totals[Metric.REGISTRATIONS] == 3 * len(DAYS) * 3
    assert totals[Metric.CANCELLED] >= 3 * len(DAYS)
    assert totals[Metric.VISIT_NO_SHOW] > 0
    assert totals[Metric.LAPSED] > 0
    assert totals[Metric.VISIT_COMPLETED] > 0

    # The kpis of the two doctors of the shared department, grouped by doctor, read the same counters.
    admin = await factories.admin_user()
    today = utcnow().astimezone(settings.tz).date()
    data = await gql.as_(admin.token).data(
        KPIS,
        {
            "from": (first_day - timedelta(days=5)).isoformat(),  # booked up to 3 days before the visit
            "to": last_day.isoformat(),
            "groupBy": "DOCTOR",
            "departmentId": str(shared_department),
        },
    )
    rows = {int(row["doctorId"]): row for row in data["kpis"]["rows"]}
    assert sorted(rows) == sorted(doctor_ids[:2])
    for doctor_id, row in rows.items():

        def raw_sum(metric: Metric, before: date | None = None, doctor: int = doctor_id) -> int:
            return summed(raw, metric, doctor, before)

        released = await Schedule.filter(
            doctor_id=doctor_id, status=ScheduleStatus.OPEN, release_at__lte=utcnow()
        ).count()
        assert row["registrations"]["value"] == raw_sum(Metric.REGISTRATIONS) == len(DAYS) * 3
        assert row["utilization"]["numerator"] == raw_sum(Metric.VISIT_BOOKED)
        assert row["utilization"]["denominator"] == released * SEATS
        assert row["consumedUtilization"]["numerator"] == raw_sum(Metric.VISIT_CONSUMED)
        assert row["successRate"] == {
            "numerator": raw_sum(Metric.CONFIRMED),
            "denominator": raw_sum(Metric.REGISTRATIONS),
            "value": raw_sum(Metric.CONFIRMED) / raw_sum(Metric.REGISTRATIONS),
            "previous": {"numerator": 0, "denominator": 0},
        }
        assert row["noShowRate"]["numerator"] == raw_sum(Metric.VISIT_NO_SHOW, today)
        assert row["noShowRate"]["denominator"] == raw_sum(Metric.VISIT_CONFIRMED, today)
        assert row["completed"]["value"] == raw_sum(Metric.VISIT_COMPLETED)
        assert row["cancellationRate"]["numerator"] == raw_sum(Metric.CANCELLED)  # the stop cancels too
    assert rows[doctor_ids[0]]["paymentConversion"] == {"numerator": 0, "denominator": 0}
    lapsed = {f["reason"]: f["count"] for f in rows[doctor_ids[1]]["failures"]}["payment_lapsed"]
    assert lapsed == summed(raw, Metric.LAPSED, doctor_ids[1]) == len([d for d in DAYS if d % 2 == 0])
    assert {r["groupName"] for r in rows.values()} == {
        d.name for d in await Doctor.filter(id__in=doctor_ids[:2])
    }
