"""KPIs on a generated hospital, and what the statistics rollup costs the booking hot path.

    .venv/bin/python bench/kpis.py --database-url postgres://postgres@127.0.0.1:5432

1. A year of a hospital of 50 doctors in 10 departments, two sessions a day each, and 500,000 bookings
   with their payment orders and refunds, generated with bulk SQL (not the API); the rollup's counters
   are derived from those bookings in SQL (wait and consultation histograms, daily activity and
   payers of 40,000 accounts included). Printed: the time of the one-year `kpis` read (median of
   several) grouped by DAY, WEEK, MONTH, DEPARTMENT and DOCTOR (target under 300 ms), first with
   nothing frozen (every day read from the day counters), then after `statistics.freeze` folded the
   days closed for three days into coarser rows (decision 257), in the same run.
2. bench/flash_crowd.py's full path (every call books, PostgreSQL's one-statement placement) with the
   rollup's counters and then without them (GUALEMA_STATISTICS_ROLLUP=false), in the same run; printed
   the rates and the cost (target under 10 %). The machine has 2 shared cores: figures are provisional.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tortoise import connections

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))


from bench import flash_crowd
from gualema.database import close_database, migrate, open_database
from gualema.settings import get_settings, reset_settings
from models.booking.placement import BookingPolicy, BookingRequest, place_booking
from models.catalogue import Doctor
from models.scheduling import Slot
from models.statistics import frozen
from models.statistics.kpis import BY_PERIOD, Grouping, KpiFilter, kpi_rows
from tests import factories

TZ = ZoneInfo("Asia/Shanghai")
DOCTORS = 50
DEPARTMENTS = 10

GENERATE = [
    # Two sessions a day for every doctor over the year before today, 15 seats each.
    """
    INSERT INTO schedule (doctor_id, department_id, registration_type_id, room_id, date, period, starts_at,
        ends_at, slot_minutes, capacity, fee, release_at, status, stop_reason, next_number, template_key,
        no_shows_swept, created_at)
    SELECT d.id, d.department_id, $1, d.room_id, $2::date + g.n, p.period,
           ($2::date + g.n + p.start_at) AT TIME ZONE 'Asia/Shanghai',
           ($2::date + g.n + p.start_at + interval '4 hours') AT TIME ZONE 'Asia/Shanghai',
           16, 15, 500, ($2::date + g.n - 7) AT TIME ZONE 'Asia/Shanghai',
           CASE WHEN (d.id + g.n) % 97 = 0 THEN 'stopped' ELSE 'open' END, '', 16, NULL, true, now()
    FROM doctor d
    CROSS JOIN generate_series(0, 364) AS g(n)
    CROSS JOIN (VALUES ('morning', interval '8 hours'), ('afternoon', interval '13 hours'))
        AS p(period, start_at)
    WHERE d.id = ANY($3::int[])
    """,
    """
    INSERT INTO slot (schedule_id, starts_at, ends_at, capacity, remaining, first_number, block_size, issued,
        bookable, desk_remaining, followup_remaining, staff_remaining)
    SELECT id, starts_at, ends_at, capacity, 1, 1, capacity, capacity - 1, true, 0, 0, 0 FROM schedule
    WHERE doctor_id = ANY($1::int[])
    """,
    # 500,000 bookings over those sessions, booked 0-6 days ahead, in a mix of outcomes.
    """
    INSERT INTO booking (account_id, patient_id, schedule_id, slot_id, department_id, visit_date,
        slot_starts_at, slot_ends_at, status, queue_number, fee, expires_at, active_session_key,
        active_department_day_key, idempotency_key, request_fingerprint, cancel_reason, created_at,
        updated_at)
    SELECT $1, $2, s.id, sl.id, s.department_id, s.date, s.starts_at, s.ends_at,
           CASE WHEN b.n % 20 < 14 THEN 'completed' WHEN b.n % 20 < 16 THEN 'cancelled'
                WHEN b.n % 20 < 17 THEN 'no_show' WHEN b.n % 20 < 18 THEN 'expired' ELSE 'checked_in' END,
           b.n / $3 + 1, s.fee, NULL, NULL, NULL, 'bench-' || b.n, '', '',
           s.starts_at - (b.n % 7) * interval '1 day' - interval '3 hours', now()
    FROM generate_series(0, $4 - 1) AS b(n)
    JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k, department_id, date, starts_at, ends_at, fee
          FROM schedule WHERE doctor_id = ANY($5::int[])) AS s ON s.k = b.n % $3
    JOIN slot sl ON sl.schedule_id = s.id
    """,
    """
    INSERT INTO payment_order (booking_id, waitlist_entry_id, account_id, provider, out_trade_no, amount,
        status, expires_at, open_key, payer_openid, prepay_id, provider_trade_no, paid_amount, paid_at,
        closed_at, refund_reserved, refunded_amount, created_at, updated_at)
    SELECT b.id, NULL, b.account_id, 'sandbox', 'bench' || b.id, b.fee,
           CASE WHEN b.status = 'cancelled' THEN 'refunded' ELSE 'paid' END, b.created_at, NULL, '', '', '',
           b.fee, b.created_at + interval '2 minutes', NULL,
           CASE WHEN b.status = 'cancelled' THEN b.fee ELSE 0 END,
           CASE WHEN b.status = 'cancelled' THEN b.fee ELSE 0 END, b.created_at, now()
    FROM booking b WHERE b.status <> 'expired' AND b.idempotency_key LIKE 'bench-%'
    """,
    """
    INSERT INTO payment_refund (order_id, out_refund_no, amount, reason, status, provider_refund_no,
        succeeded_at, created_at, updated_at)
    SELECT o.id, 'bench-r' || o.id, o.amount, 'cancelled', 'succeeded', '', o.paid_at + interval '1 day',
           now(), now()
    FROM payment_order o WHERE o.status = 'refunded' AND o.out_trade_no LIKE 'bench%'
    """,
    # Each booking's history: placed, and for the cancelled and lapsed the seat given back (the
    # refills of cancelled seats are read from it).
    """
    INSERT INTO booking_event (booking_id, from_status, to_status, actor_id, reason, at)
    SELECT id, NULL, 'pending_payment', NULL::int, '', created_at FROM booking
    WHERE idempotency_key LIKE 'bench-%'
    UNION ALL
    SELECT id, CASE WHEN status = 'cancelled' THEN 'confirmed' ELSE 'pending_payment' END, status, NULL, '',
           created_at + interval '15 minutes'
    FROM booking WHERE idempotency_key LIKE 'bench-%' AND status IN ('cancelled', 'expired')
    """,
    # The rollup's counters, derived from the bookings and payments as the rollup would have moved
    # them; days closed for two days are folded into shard 0, as the statistics.fold job leaves them.
    """
    INSERT INTO stat_daily (day, department_id, doctor_id, metric, shard, value)
    SELECT day, department_id, doctor_id, metric,
           CASE WHEN day < (now() AT TIME ZONE 'Asia/Shanghai')::date - 2 THEN 0 ELSE shard END, sum(amount)
    FROM (
        SELECT (b.created_at AT TIME ZONE 'Asia/Shanghai')::date AS day, b.department_id, s.doctor_id,
               m.metric, (b.id % 16)::smallint AS shard, 1 AS amount
        FROM booking b JOIN schedule s ON s.id = b.schedule_id
        CROSS JOIN (VALUES ('registrations'), ('holds'), ('paid'), ('confirmed')) AS m(metric)
        WHERE b.status <> 'expired' OR m.metric IN ('registrations', 'holds')
        UNION ALL
        SELECT b.visit_date, b.department_id, s.doctor_id, m.metric, (b.id % 16)::smallint, 1
        FROM booking b JOIN schedule s ON s.id = b.schedule_id
        CROSS JOIN (VALUES ('visit_booked'), ('visit_consumed'), ('visit_confirmed'), ('visit_completed'),
                           ('visit_no_show'), ('cancelled'), ('lapsed')) AS m(metric)
        WHERE s.status = 'open' AND (
              (m.metric = 'visit_booked' AND b.status NOT IN ('cancelled', 'expired'))
           OR (m.metric = 'visit_consumed' AND b.status IN ('completed', 'checked_in'))
           OR (m.metric = 'visit_confirmed' AND b.status IN ('completed', 'checked_in', 'no_show'))
           OR (m.metric = 'visit_completed' AND b.status = 'completed')
           OR (m.metric = 'visit_no_show' AND b.status = 'no_show')
           OR (m.metric = 'cancelled' AND b.status = 'cancelled')
           OR (m.metric = 'lapsed' AND b.status = 'expired'))
        UNION ALL
        -- completed visits: booked in advance (预约诊疗率), and their wait and consultation histograms
        -- (waits of 0-44 minutes, consultations of 0-24, spread by booking id)
        SELECT b.visit_date, b.department_id, s.doctor_id, m.metric, (b.id % 16)::smallint, 1
        FROM booking b JOIN schedule s ON s.id = b.schedule_id
        CROSS JOIN LATERAL (VALUES
            ('visit_completed_booked'),
            ('visit_wait_' || lpad((CASE WHEN b.id * 7 % 45 < 30 THEN b.id * 7 % 45
                                         ELSE b.id * 7 % 45 - b.id * 7 % 45 % 5 END)::text, 3, '0')),
            ('visit_consult_' || lpad((b.id % 25)::text, 3, '0'))) AS m(metric)
        WHERE s.status = 'open' AND b.status = 'completed'
        UNION ALL
        SELECT (o.paid_at AT TIME ZONE 'Asia/Shanghai')::date, b.department_id, s.doctor_id, 'revenue_paid',
               (o.id % 16)::smallint, o.paid_amount
        FROM payment_order o JOIN booking b ON b.id = o.booking_id JOIN schedule s ON s.id = b.schedule_id
        UNION ALL
        SELECT (r.succeeded_at AT TIME ZONE 'Asia/Shanghai')::date, b.department_id, s.doctor_id,
               'revenue_refunded', (o.id % 16)::smallint, r.amount
        FROM payment_refund r JOIN payment_order o ON o.id = r.order_id JOIN booking b ON b.id = o.booking_id
        JOIN schedule s ON s.id = b.schedule_id
    ) AS changes
    GROUP BY 1, 2, 3, 4, 5
    """,
    # Daily activity and payers of 40,000 accounts (the counting tables hold bare account ids): one
    # row per account and day it booked, and per day it paid, as the activity batches and the
    # payment reactions leave them.
    """
    INSERT INTO stat_activity (account_id, day)
    SELECT DISTINCT 100000 + b.id % 40000, (b.created_at AT TIME ZONE 'Asia/Shanghai')::date
    FROM booking b WHERE b.idempotency_key LIKE 'bench-%'
    """,
    """
    INSERT INTO stat_payer (account_id, day)
    SELECT DISTINCT 100000 + o.booking_id % 40000, (o.paid_at AT TIME ZONE 'Asia/Shanghai')::date
    FROM payment_order o WHERE o.out_trade_no LIKE 'bench%'
    """,
    "ANALYZE",
]


async def generate(bookings: int) -> tuple[date, date]:
    departments = [await factories.department() for _ in range(DEPARTMENTS)]
    doctors = [(await factories.doctor(departments[i % DEPARTMENTS]))[0] for i in range(DOCTORS)]
    registration_type = await factories.registration_type(fee=500)
    patient_account = await factories.patient_user()
    patient = await factories.patient(patient_account)
    today = datetime.now(UTC).astimezone(TZ).date()
    first = today - timedelta(days=365)
    doctor_ids = [d.id for d in doctors]
    sessions = DOCTORS * 365 * 2
    connection = connections.get("default")
    arguments = [
        [registration_type.id, first, doctor_ids],
        [doctor_ids],
        [patient_account.account.id, patient.id, sessions, bookings, doctor_ids],
        [],
        [],
        [],
        [],
        [],
        [],
        [],
    ]
    started = time.perf_counter()
    for sql, values in zip(GENERATE, arguments, strict=True):
        await connection.execute_query(sql, values)
    rows = await connection.execute_query_dict(
        "SELECT (SELECT count(*) FROM booking) AS bookings, (SELECT count(*) FROM stat_daily) AS counters, "
        "(SELECT count(*) FROM payment_order) AS orders, (SELECT count(*) FROM schedule) AS sessions"
    )
    print(
        f"generated in {time.perf_counter() - started:.0f} s: {rows[0]['bookings']} bookings, "
        f"{rows[0]['sessions']} sessions, {rows[0]['orders']} payment orders, "
        f"{rows[0]['counters']} counter rows"
    )
    return first, today - timedelta(days=1)


async def time_kpis(first: date, last: date, repeats: int, label: str) -> dict[str, float]:
    """The hospital-wide groupings, then DAY/WEEK/MONTH for one department and for one doctor."""
    doctor = await Doctor.all().order_by("id").first()
    assert doctor is not None
    department_id, doctor_id = doctor.department_id, doctor.id
    specs = [(g.name, KpiFilter(first, last, g)) for g in Grouping]
    specs += [(f"{g.name} dept", KpiFilter(first, last, g, department_id=department_id)) for g in BY_PERIOD]
    specs += [(f"{g.name} doctor", KpiFilter(first, last, g, doctor_id=doctor_id)) for g in BY_PERIOD]
    out = {}
    for name, spec in specs:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            rows = await kpi_rows(spec, now=datetime.now(UTC), tz=TZ)
            times.append(time.perf_counter() - started)
        out[name] = statistics.median(times) * 1000
        print(f"kpis one year, {label}, {name:<12} {len(rows):>4} rows: median {out[name]:.0f} ms")
    return out


async def statement_cost(bookings: int, batch: int = 100) -> tuple[float, float]:
    """PostgreSQL's placement in process, one booking after another (no HTTP, no crowd), in
    alternating batches with and without the counters: ms per booking, median of the batches."""
    schedule = await factories.session(capacity=bookings, starts_in=timedelta(days=2))
    slot = await Slot.get(schedule_id=schedule.id)
    people = []
    for _ in range(bookings):
        actor = await factories.patient_user()
        people.append((actor.account.id, (await factories.patient(actor)).id))
    times: dict[bool, list[float]] = {True: [], False: []}
    for start in range(0, bookings, batch):
        roll_up = (start // batch) % 2 == 0
        policy = BookingPolicy(hold_minutes=15, max_per_account_per_day=3, roll_up=roll_up)
        started = time.perf_counter()
        for account_id, patient_id in people[start : start + batch]:
            request = BookingRequest(account_id, slot.id, patient_id, f"statement-{patient_id}")
            await place_booking(request, policy)
        times[roll_up].append((time.perf_counter() - started) * 1000 / len(people[start : start + batch]))
    return statistics.median(times[True]), statistics.median(times[False])


async def part_one(args: argparse.Namespace) -> tuple[dict[str, float], dict[str, float]]:
    async with flash_crowd.fresh_database(args.database_url) as database_url:
        os.environ.update(
            {
                "GUALEMA_DATABASE_URL": database_url,
                "GUALEMA_SECRET_KEY": flash_crowd.SECRET,
                "GUALEMA_ENV": "test",
            }
        )
        reset_settings()
        settings = get_settings()
        await migrate(settings)
        await open_database(settings)
        try:
            first, last = await generate(args.bookings)
            unfrozen = await time_kpis(first, last, args.repeats, "nothing frozen")
            started = time.perf_counter()
            days = await frozen.freeze(last + timedelta(days=1))
            # as autovacuum would after the first freeze's bulk insert (then a day's rows at a time)
            await connections.get("default").execute_script("ANALYZE stat_frozen")
            print(f"statistics.freeze: {days} days frozen in {time.perf_counter() - started:.1f} s")
            timings = await time_kpis(first, last, args.repeats, "closed days frozen")
            if args.statement_bookings:
                with_counters, without = await statement_cost(args.statement_bookings)
                print(
                    f"placement statement, sequential, ms per booking: with the counters "
                    f"{with_counters:.2f}, without {without:.2f}: "
                    f"cost {(with_counters - without) / without * 100:.1f} %"
                )
            return unfrozen, timings
        finally:
            await close_database()


async def part_two(args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    """Alternating rounds with and without the rollup; medians of bookings/s and server ms CPU/call."""
    crowd = flash_crowd.parse_args(["--database-url", args.database_url, "--patients", str(args.patients)])
    rates: dict[str, list[float]] = {"true": [], "false": []}
    cpu: dict[str, list[float]] = {"true": [], "false": []}
    for _ in range(args.rounds):
        for label, switch in (("with the rollup", "true"), ("without the rollup", "false")):
            os.environ["GUALEMA_STATISTICS_ROLLUP"] = switch
            print(f"== flash crowd, {label}")
            full, _ = await flash_crowd.main(crowd)
            rates[switch].append(full.rate)
            cpu[switch].append(1000 * full.server_cpu / full.requests if full.server_cpu else 0.0)
    os.environ.pop("GUALEMA_STATISTICS_ROLLUP", None)
    return {k: (statistics.median(rates[k]), statistics.median(cpu[k])) for k in rates}


async def main(args: argparse.Namespace) -> None:
    if not args.database_url.startswith(("postgres", "asyncpg")):
        raise SystemExit("the benchmark runs on PostgreSQL (--database-url postgres://…)")
    load = os.getloadavg()
    unfrozen, timings = await part_one(args)
    hot_path = {} if args.skip_hot_path else await part_two(args)
    print("== summary")
    print(f"load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    print("one-year kpis, nothing frozen: " + ", ".join(f"{k} {v:.0f} ms" for k, v in unfrozen.items()))
    print(
        "one-year kpis, closed days frozen (target < 300 ms): "
        + ", ".join(f"{k} {v:.0f} ms" for k, v in timings.items())
    )
    if hot_path:
        (with_rate, with_cpu), (without_rate, without_cpu) = hot_path["true"], hot_path["false"]
        print(
            f"full path, median of {args.rounds} alternating rounds: "
            f"with the rollup {with_rate:.0f} bookings/s "
            f"({with_cpu:.2f} ms server CPU/call), without {without_rate:.0f} ({without_cpu:.2f} ms): "
            f"cost {(without_rate - with_rate) / without_rate * 100:.1f} % by rate, "
            f"{(with_cpu - without_cpu) / without_cpu * 100:.1f} % by CPU per call (target < 10 %)"
        )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("GUALEMA_BENCH_DATABASE_URL", ""))
    parser.add_argument("--bookings", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--patients", type=int, default=2000, help="bench/flash_crowd.py --patients")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds with and without the rollup"
    )
    parser.add_argument(
        "--statement-bookings", type=int, default=1200, help="sequential placements (0: skip)"
    )
    parser.add_argument("--skip-hot-path", action="store_true")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args(sys.argv[1:])))
