"""Release-hour browsing (issue 18): Gualema against bare strawberry answering the same rows from memory.

    .venv/bin/python bench/browse.py --database-url postgres://postgres@127.0.0.1:5432

One fresh PostgreSQL database (dropped at the end) with a department of 4 doctors, each with a morning
and an afternoon session every day of the coming week minus one (28 sessions of 8 slots = 224 slots).
Served by `python -m gualema serve` (one process, anonymous requests, production settings) and, in the
same run, by bench/browse_reference_app.py (strawberry with parser and validation caches, the same
rows in memory). Each query is sent by C closed-loop connections (bench/raw_http.py) for N requests:
(a) the department's week with slots and remaining seats, (b) departments with their doctors,
(c) one doctor's week, and `{ __typename }` (the per-request floor). Printed: requests/s, p50/p99,
server CPU per request, and Gualema / reference. Targets: (a) >= 1.5, (b) (c) >= 1.0, floor >= 0.9,
p99 < 200 ms. Requests are anonymous: the browse cache serves them (docs/decisions/260);
`--cache-seconds 0` measures execution alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from bench.flash_crowd import SECRET, fresh_database, server_pids
from bench.raw_http import RawPool
from bench.servers import cpu_seconds, start_server
from bench.servers import stop_server as stop
from gualema.database import close_database, migrate, open_database
from gualema.settings import get_settings, reset_settings
from models.accounts import Account, Role
from models.catalogue import Department, Doctor, RegistrationType, Room
from models.clock import utcnow
from models.scheduling import Period, Schedule, ScheduleStatus, Slot

WEEK = """query Week($dept: ID!, $from: Date!, $to: Date!) {
  schedules(departmentId: $dept, dateFrom: $from, dateTo: $to) {
    id doctorId date period startsAt endsAt capacity fee status remaining
    slots { id start end capacity remaining deskRemaining bookable }
  }
}"""
DOCTORS = "query Doctors { departments { id name code doctors { id name title } } }"
DOCTOR_WEEK = """query DoctorWeek($doctor: ID!, $from: Date!, $to: Date!) {
  schedules(doctorId: $doctor, dateFrom: $from, dateTo: $to) {
    id date period startsAt endsAt fee status remaining slots { id start end remaining bookable }
  }
}"""
FLOOR = "{ __typename }"


@dataclass
class Figures:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    server_cpu: float
    bad: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"{self.name:<28} {self.rate:8.1f}/s  p50 {self.pct(0.5):6.1f} ms  p99 {self.pct(0.99):6.1f} ms"
            f"  server {1000 * self.server_cpu / self.requests:5.2f} ms CPU/req"
            + (f"  BAD ANSWERS {self.bad}" if self.bad else "")
        )


async def load(
    name: str, url: str, payload: dict[str, Any], requests: int, connections: int, pids: list[int]
) -> tuple[Figures, bytes]:
    pool = RawPool([url], connections)
    await pool.open()
    latencies: list[float] = []
    bad = 0
    sample = b""

    async def worker(count: int) -> None:
        nonlocal bad, sample
        for _ in range(count):
            try:
                response, seconds = await pool.post("/graphql", payload, {})
            except (ConnectionError, OSError, asyncio.IncompleteReadError):
                bad += 1  # the pool reconnects; counted, never hidden
                continue
            latencies.append(seconds)
            if response.status != 200 or b'"errors"' in response.body:
                bad += 1
            sample = response.body

    try:
        await asyncio.gather(*(worker(2) for _ in range(connections)))  # warm: caches, connections
        latencies.clear()
        before = cpu_seconds(pids)
        started = time.perf_counter()
        await asyncio.gather(*(worker(requests // connections) for _ in range(connections)))
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(pids) - before
    finally:
        await pool.close()
    return Figures(name, len(latencies), seconds, latencies, cpu, bad), sample


async def seed() -> dict[str, Any]:
    """The department's week, and the same rows as plain JSON for the reference app."""

    department = await Department.create(name="内科", code="NK")
    registration = await RegistrationType.create(name="普通号", fee=500)
    doctors = []
    for i in range(4):
        room = await Room.create(name=f"诊室{i}", department=department)
        account = await Account.create(phone=f"1770000000{i}", name=f"医生{i}", role=Role.DOCTOR)
        doctors.append(
            await Doctor.create(
                account=account, name=f"王医生{i}", title="主治医师", department=department, room=room
            )
        )
    today = (utcnow() + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    schedules: list[Schedule] = []
    for day in range(7):
        for doctor in doctors:
            for period, hour in ((Period.MORNING, 0), (Period.AFTERNOON, 5)):
                if len(schedules) == 28:
                    break
                starts = today + timedelta(days=day, hours=hour)
                schedule = await Schedule.create(
                    doctor=doctor,
                    department=department,
                    registration_type=registration,
                    room_id=doctor.room_id,
                    date=starts.date(),
                    period=period,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=4),
                    slot_minutes=30,
                    capacity=80,
                    fee=500,
                    release_at=utcnow() - timedelta(hours=1),
                    next_number=81,
                )
                rows = [
                    Slot(
                        schedule=schedule,
                        starts_at=starts + timedelta(minutes=30 * i),
                        ends_at=starts + timedelta(minutes=30 * (i + 1)),
                        capacity=10,
                        remaining=8,
                        desk_remaining=2,
                        first_number=1 + 10 * i,
                        block_size=10,
                    )
                    for i in range(8)
                ]
                await Slot.bulk_create(rows)
                schedules.append(schedule)
    tz = get_settings().tz  # answers render times in the hospital's zone
    json_rows = []
    for schedule in sorted(schedules, key=lambda row: (row.starts_at, row.id)):
        slots = await Slot.filter(schedule_id=schedule.id).order_by("starts_at")
        json_rows.append(
            {
                "id": schedule.id,
                "doctor_id": schedule.doctor_id,
                "department_id": schedule.department_id,
                "date": schedule.date.isoformat(),
                "period": schedule.period.name,
                "starts_at": schedule.starts_at.astimezone(tz).isoformat(),
                "ends_at": schedule.ends_at.astimezone(tz).isoformat(),
                "capacity": schedule.capacity,
                "fee": schedule.fee,
                "status": ScheduleStatus(schedule.status).name,
                "slots": [
                    {
                        "id": s.id,
                        "start": s.starts_at.astimezone(tz).isoformat(),
                        "end": s.ends_at.astimezone(tz).isoformat(),
                        "capacity": s.capacity,
                        "remaining": s.remaining,
                        "desk_remaining": s.desk_remaining,
                        "bookable": s.bookable,
                    }
                    for s in slots
                ],
            }
        )
    return {
        "department": department.id,
        "doctor": doctors[0].id,
        "from": today.date().isoformat(),
        "to": (today + timedelta(days=6)).date().isoformat(),
        "schedules": json_rows,
        "departments": [
            {
                "id": department.id,
                "name": department.name,
                "code": department.code,
                "doctors": [{"id": d.id, "name": d.name, "title": d.title} for d in doctors],
            }
        ],
    }


def payloads(rows: dict[str, Any]) -> dict[str, dict[str, Any]]:
    span = {"from": rows["from"], "to": rows["to"]}
    return {
        "(a) department week": {"query": WEEK, "variables": {"dept": str(rows["department"]), **span}},
        "(b) departments→doctors": {"query": DOCTORS},
        "(c) one doctor's week": {"query": DOCTOR_WEEK, "variables": {"doctor": str(rows["doctor"]), **span}},
        "floor { __typename }": {"query": FLOOR},
    }


def difference(ours: bytes, theirs: bytes) -> str:
    answers = json.loads(ours), json.loads(theirs)
    mine, other = (answer.get("data", answer) for answer in answers)  # an error answer is shown whole
    if mine == other:
        return ""
    return f"{json.dumps(mine, ensure_ascii=False)[:300]} != {json.dumps(other, ensure_ascii=False)[:300]}"


async def main(args: argparse.Namespace) -> None:

    async with fresh_database(args.database_url) as database_url:
        env = {
            "GUALEMA_ENV": "production",
            "GUALEMA_DATABASE_URL": database_url,
            "GUALEMA_SECRET_KEY": SECRET,
            "GUALEMA_RUN_WORKERS": "false",
            "GUALEMA_DB_POOL_SIZE": "20",
            "GUALEMA_BROWSE_CACHE_MAX_AGE_SECONDS": str(args.cache_seconds),
            # 64 connections from one address: the bench measures serving, not the anonymous bucket
            # (which still charges every request)
            "GUALEMA_ANONYMOUS_BUCKET_CAPACITY": "1000000000",
            "GUALEMA_ANONYMOUS_RESTORE_RATE": "1000000000",
        }
        os.environ.update(env)
        os.environ.pop("GUALEMA_REDIS_URL", None)
        reset_settings()
        settings = get_settings()
        await migrate(settings)
        await open_database(settings)
        rows = await seed()
        await close_database()
        rows_file = Path(tempfile.gettempdir()) / f"gualema-browse-rows-{os.getpid()}.json"
        rows_file.write_text(json.dumps(rows))
        env["BENCH_BROWSE_ROWS"] = str(rows_file)
        print(
            f"browse: {len(rows['schedules'])} sessions, {sum(len(s['slots']) for s in rows['schedules'])} "
            f"slots, {args.requests} requests per query, {args.connections} connections, 1 process, "
            f"browse cache {'on' if args.cache_seconds else 'off'}"
        )
        figures: dict[str, tuple[Figures, Figures]] = {}
        samples: dict[str, bytes] = {}
        gualema = start_server(
            [sys.executable, "-m", "gualema", "serve", "--loop", args.loop, "--workers", "1"], env
        )
        try:
            for name, payload in payloads(rows).items():
                ours, samples[name] = await load(
                    f"gualema {name}",
                    gualema.url,
                    payload,
                    args.requests,
                    args.connections,
                    server_pids(gualema),
                )
                figures[name] = (ours, ours)
        finally:
            stop(gualema)
        reference = start_server(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.browse_reference_app:app",
                "--loop",
                args.loop,
                "--log-level",
                "warning",
                "--no-access-log",
                "--timeout-keep-alive",
                "60",  # a loaded machine may leave a connection idle longer than uvicorn's 5 s
            ],
            env,
        )
        try:
            for name, payload in payloads(rows).items():
                theirs, sample = await load(
                    f"reference {name}",
                    reference.url,
                    payload,
                    args.requests,
                    args.connections,
                    server_pids(reference),
                )
                figures[name] = (figures[name][0], theirs)
                if differs := difference(samples[name], sample):
                    print(f"!!! {name}: the answers differ: {differs}")
        finally:
            stop(reference)
            rows_file.unlink(missing_ok=True)
        print(f"answer size (a): {len(samples['(a) department week']) / 1024:.1f} KiB")
        for ours, theirs in figures.values():
            print(ours.line())
            print(theirs.line())
        print()
        targets = {"(a)": 1.5, "(b)": 1.0, "(c)": 1.0, "flo": 0.9}
        for name, (ours, theirs) in figures.items():
            cpu_ratio = (theirs.server_cpu / theirs.requests) / (ours.server_cpu / ours.requests)
            target = targets[name[:3]]
            print(
                f"{name:<26} gualema / reference {ours.rate / theirs.rate:5.2f} (target >= {target}), "
                f"by server CPU per request {cpu_ratio:5.2f}; gualema p99 {ours.pct(0.99):.0f} ms (< 200)"
            )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("GUALEMA_BENCH_DATABASE_URL"))
    parser.add_argument("--requests", type=int, default=3200)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument(
        "--cache-seconds",
        type=float,
        default=30.0,
        help="GUALEMA_BROWSE_CACHE_MAX_AGE_SECONDS (0: cache off)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args(sys.argv[1:])
    if not (arguments.database_url or "").startswith("postgres"):
        raise SystemExit("bench/browse.py measures PostgreSQL: --database-url postgres://…")
    asyncio.run(main(arguments))
