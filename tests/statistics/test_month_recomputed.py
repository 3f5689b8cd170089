"""A month of activity: the rollup kept in each change's transaction equals a recomputation from the
raw records, counter by counter, and the kpis query reads the same figures (docs/decisions/180)."""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import date, timedelta

from tortoise.transactions import in_transaction

from gualema.settings import Settings
from models.booking.desk import WalkIn, register_walk_in
from models.catalogue import Doctor
from models.clock import utcnow
from models.reactions import change_schedule
from models.scheduling import Schedule, ScheduleStatus
from models.statistics import recompute
from models.statistics.kpis import Duration
from models.statistics.metrics import CONSULT_PREFIX, WAIT_PREFIX, Metric
from models.waitlist.entries import WaitlistStatus as W
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.statistics.scenario import KPIS, POLICY, B, consult, move, people, place, session_on, waiter

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
            if ended and number == 0:
                await move(first, B.CHECKED_IN, B.IN_CONSULTATION, B.COMPLETED, at=schedule.starts_at)
            elif ended:  # through the room queue: arrived, waited, seen for a while
                await consult(
                    first,
                    checked_in_at=schedule.starts_at - timedelta(minutes=10 + offset % 4 * 10),
                    called_at=schedule.starts_at + timedelta(minutes=offset % 7 * 9),
                    finished_at=schedule.starts_at + timedelta(minutes=offset % 7 * 9 + offset % 5 * 6 + 3),
                )
            if fee and offset % 2 == 0:
                await move(second, B.EXPIRED, at=booked_at + timedelta(minutes=20))
            else:
                if fee:
                    await move(second, B.CONFIRMED, at=paid_at)
                if ended:
                    await move(second, B.NO_SHOW, at=schedule.ends_at)
            await move(third, B.CANCELLED, at=booked_at + timedelta(hours=1 + offset % 2 * 30))
    # A walk-in registered at the desk (现场挂号) and seen: completed, but not booked in advance.
    today_session = await factories.session(capacity=2, starts_in=timedelta(hours=1), doctor_row=doctors[2])
    registrar = await factories.admin_user()
    async with in_transaction():
        walked_in = await register_walk_in(
            WalkIn(today_session.id, patients[8].patient_id, "现金", secrets.token_hex(8)),
            POLICY,
            registrar_id=registrar.account.id,
            today=today_session.date,
            now=now,
        )
    await consult(
        walked_in,
        checked_in_at=now,
        called_at=now + timedelta(minutes=95),
        finished_at=now + timedelta(hours=2),
    )
    # The waitlist of a coming session of the second doctor: one waiter got a seat, two did not.
    for person, ends in zip(patients[:3], (W.BOOKED, W.EXPIRED, W.LEFT), strict=True):
        await waiter(person, sessions[(1, 3)], ends)
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
    assert totals[Metric.REGISTRATIONS] == 3 * len(DAYS) * 3 + 1  # and the walk-in
    assert totals[Metric.CANCELLED] >= 3 * len(DAYS)
    assert totals[Metric.VISIT_NO_SHOW] > 0
    assert totals[Metric.LAPSED] > 0
    assert totals[Metric.VISIT_COMPLETED] > 0
    # Walk-ins complete visits too, but are not booked in advance (预约诊疗率).
    assert (
        summed(raw, Metric.VISIT_COMPLETED_BOOKED, doctor_ids[2])
        == summed(raw, Metric.VISIT_COMPLETED, doctor_ids[2]) - 1
    )
    assert summed(raw, Metric.VISIT_COMPLETED_BOOKED, doctor_ids[0]) == summed(
        raw, Metric.VISIT_COMPLETED, doctor_ids[0]
    )
    # The histograms of the queued visits, bucket by bucket, are part of the comparison above.
    waits = sum(v for (_, _, _, name), v in raw.items() if name.startswith(WAIT_PREFIX))
    consultations = sum(v for (_, _, _, name), v in raw.items() if name.startswith(CONSULT_PREFIX))
    ended_sessions = len([d for d in DAYS if d < 0])  # sessions of the days before today have ended
    assert waits == consultations == 2 * ended_sessions + 1
    assert summed(raw, Metric.VISIT_WAITERS, doctor_ids[1]) == 3
    assert summed(raw, Metric.VISIT_WAITLIST_BOOKED, doctor_ids[1]) == 1

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
        assert row["bookedInAdvanceRate"]["numerator"] == raw_sum(Metric.VISIT_COMPLETED_BOOKED)
        assert row["bookedInAdvanceRate"]["denominator"] == raw_sum(Metric.VISIT_COMPLETED)
        assert row["waitlistConversion"] == {
            "numerator": raw_sum(Metric.VISIT_WAITLIST_BOOKED),
            "denominator": raw_sum(Metric.VISIT_WAITERS),
        }
        for field, prefix in (("waitAfterArrival", WAIT_PREFIX), ("consultationLength", CONSULT_PREFIX)):
            histogram: Counter[int] = Counter()
            for (_, _, who, name), value in raw.items():
                if who == doctor_id and name.startswith(prefix):
                    histogram[int(name.removeprefix(prefix))] += value
            expected = Duration(dict(histogram))
            assert row[field]["count"] == expected.count
            assert (row[field]["p50"], row[field]["p90"]) == (
                expected.percentile(50),
                expected.percentile(90),
            )
    assert rows[doctor_ids[1]]["waitlistConversion"] == {"numerator": 1, "denominator": 3}
    assert rows[doctor_ids[1]]["waitAfterArrival"]["count"] == ended_sessions
    assert rows[doctor_ids[0]]["waitAfterArrival"] == {
        "count": 0,
        "p50": None,
        "p90": None,
        "previous": {"count": 0},
    }
    assert rows[doctor_ids[0]]["paymentConversion"] == {"numerator": 0, "denominator": 0}
    lapsed = {f["reason"]: f["count"] for f in rows[doctor_ids[1]]["failures"]}["payment_lapsed"]
    assert lapsed == summed(raw, Metric.LAPSED, doctor_ids[1]) == len([d for d in DAYS if d % 2 == 0])
    assert {r["groupName"] for r in rows.values()} == {
        d.name for d in await Doctor.filter(id__in=doctor_ids[:2])
    }
