"""Release hour (放号): N logged-in patients press "book" on a session of M seats at the same moment.

    .venv/bin/python bench/flash_crowd.py                                  # SQLite, 1 process
    .venv/bin/python bench/flash_crowd.py --database-url postgres://postgres@127.0.0.1:5432 --processes 2
    .venv/bin/python bench/flash_crowd.py --database-url postgres://postgres@127.0.0.1 --compare-processes
    .venv/bin/python bench/flash_crowd.py --database-url postgres://postgres@127.0.0.1:5432 --profile /tmp/p

Parts, all on one fresh database (a temporary SQLite file, or a new PostgreSQL database that is
dropped at the end) and the same client (bench/raw_http.py, C keep-alive connections, every request
started at once):

1. flash crowd: N patients book a session of M seats (default 2000 for 200) through
   `python -m gualema serve` with P processes. Printed: requests/s, bookings/s, p50/p99 latency,
   the mix of answers, and the oversell check (per slot remaining + active bookings == capacity,
   never below zero, numbers unique): must be 0.
2. full path: the same N patients book another session with N seats, so every request runs the whole
   bookSlot path (authentication, ownership, block, quota, idempotency, seat, number, audit event,
   outbox) and succeeds: this is the rate to compare with the references.
3. reference app: bench/minimal_booking_app.py (strawberry with parser and validation caches, one
   mutation doing a conditional UPDATE and an INSERT through tortoise) with P processes, N calls.
4. bare SQL: the same UPDATE + INSERT transaction through the driver (asyncpg or aiosqlite) with C
   concurrent transactions, no HTTP and no GraphQL.

With --profile DIR, py-spy samples the first server process during part 2 and writes collapsed stacks
there (`--summarise FILE` prints the hottest functions). Server CPU per call (from /proc) is printed
per part: it is the figure least disturbed by other work on the machine; so is the PostgreSQL CPU
(all its processes, from /proc).
The machine has 2 cores shared with other work: quote figures as provisional.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
from tortoise import connections

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))


from bench.raw_http import RawPool
from bench.servers import Server, cap_cpu, cpu_seconds, start_server, uncap_cpu
from bench.servers import stop_server as stop
from gualema.database import close_database, migrate, open_database
from gualema.settings import get_settings, reset_settings
from models.access_tokens import issue_access_token
from models.accounts import Account, IdKind, Patient, Relation, Role
from models.booking import ACTIVE, Booking
from models.catalogue import Department, Doctor, RegistrationType, Room
from models.clock import utcnow
from models.scheduling import Period, Schedule, Slot

BOOK = """
mutation($input: BookSlotInput!) {
  bookSlot(input: $input) {
    __typename
    ... on Booking { id status queueNumber slotStart fee expiresAt }
  }
}"""
MINIMAL_BOOK = (
    "mutation($slotId: Int!, $patientId: Int!) { book(slotId: $slotId, patientId: $patientId) { id } }"
)
SECRET = "bench-secret-key-0123456789abcdef-flash"


# ---------------------------------------------------------------- processes


def children(pid: int) -> list[int]:
    """uvicorn --workers N: the supervisor's worker processes (the ones doing the work)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def postgres_cpu_seconds() -> float:
    """CPU seconds used so far by every PostgreSQL process on the machine (0 without PostgreSQL)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if name.startswith("postgres"):
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- load


@dataclass
class Figures:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    answers: Counter[str]
    database_cpu: float
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    machine_busy: float = 0.0  # cores busy machine-wide during the run (of os.cpu_count())

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def successes(self, kind: str) -> int:
        return self.answers.get(kind, 0)

    def print(self, success: str | None = None) -> None:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0

        line = f"{self.name:<34} {self.requests:>6} calls in {self.seconds:6.2f} s = {self.rate:7.1f}/s"
        if success:
            line += f", {self.successes(success) / self.seconds:7.1f} {success}/s"
        if ordered:
            line += f"  p50 {pct(0.5):6.1f} ms  p99 {pct(0.99):6.1f} ms"
        if self.server_cpu:
            line += f"  server {1000 * self.server_cpu / self.requests:5.2f} ms CPU/call"
        if self.database_cpu > 0:
            line += f"  db {self.database_cpu / self.seconds:4.2f} cores"
        print(line)
        if self.client_cpu:
            print(
                f"{'':<34} client {1000 * self.client_cpu / self.requests:4.2f} ms CPU/call, machine busy "
                f"{self.machine_busy:4.2f} of {os.cpu_count()} cores"
            )
        print(f"{'':<34} answers: {dict(self.answers.most_common())}")


def start_capped(
    command: list[str], env: dict[str, str], args: argparse.Namespace
) -> tuple[Server, list[Path]]:
    """The server, and with --cpu-per-process each of its worker processes in a CPU cgroup."""
    server = start_server(command, env)
    if not args.cpu_per_process:
        return server, []
    deadline = time.monotonic() + 30
    while len(workers_of(server)) < args.processes and time.monotonic() < deadline:
        time.sleep(0.1)
    return server, cap_cpu(workers_of(server), args.cpu_per_process)


def workers_of(server: Server) -> list[int]:
    """The processes that serve requests: uvicorn's workers, or the server itself with one process."""
    found = [
        pid
        for pid in children(server.process.pid)
        if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    ]
    return found or [server.process.pid]


def server_pids(server: Server) -> list[int]:
    return [server.process.pid, *children(server.process.pid)]


async def fire(
    name: str,
    urls: list[str],
    calls: list[tuple[str | None, dict[str, Any]]],
    query: str,
    connections: int,
    pids: list[int] | None = None,
) -> Figures:
    """Every call is started at once; `connections` are in flight at any moment. The client is
    bench/raw_http.py, so the load generator's own CPU stays small next to the server's."""
    pool = RawPool(urls, connections)
    await pool.open()
    latencies: list[float] = []
    answers: Counter[str] = Counter()

    async def one(token: str | None, variables: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response, seconds = await pool.post("/graphql", {"query": query, "variables": variables}, headers)
        except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
            answers[f"transport:{type(exc).__name__}"] += 1
            return
        latencies.append(seconds)
        body = response.json() if response.status == 200 else {}
        if body.get("errors") or response.status != 200:
            answers[f"error:{response.status}:{str(body.get('errors'))[:60]}"] += 1
            return
        value = next(iter(body["data"].values()))
        answers[value.get("__typename", "ok") if value else "none"] += 1

    try:
        # Warm every connection and each process's document caches first.
        await asyncio.gather(
            *(pool.post("/graphql", {"query": "{ __typename }"}, {}) for _ in range(connections))
        )
        db_before = postgres_cpu_seconds()
        server_before = cpu_seconds(pids or [])
        client_before = time.process_time()
        machine_before = machine_busy_seconds()
        started = time.perf_counter()
        await asyncio.gather(*(one(token, variables) for token, variables in calls))
        seconds = time.perf_counter() - started
        db_cpu = postgres_cpu_seconds() - db_before
        server_cpu = cpu_seconds(pids or []) - server_before
        client_cpu = time.process_time() - client_before
        machine = (machine_busy_seconds() - machine_before) / seconds
    finally:
        await pool.close()
    return Figures(name, len(calls), seconds, latencies, answers, db_cpu, server_cpu, client_cpu, machine)


# ---------------------------------------------------------------- database and seed


@asynccontextmanager
async def fresh_database(base_url: str | None) -> AsyncIterator[str]:
    run = f"gualema_flash_{os.getpid()}_{secrets.token_hex(2)}"
    if not base_url or base_url.startswith("sqlite"):
        path = Path(tempfile.gettempdir()) / f"{run}.sqlite3"
        yield f"sqlite://{path}"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240 - cleanup at exit
        return

    base = base_url.rstrip("/")
    admin = await asyncpg.connect(base + "/postgres")
    await admin.execute(f'CREATE DATABASE "{run}"')
    try:
        yield f"{base}/{run}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)')
        await admin.close()


@dataclass
class Seeded:
    crowd: list[tuple[str, int]]  # (access token, patient id)
    flash_slots: list[int]
    full_slots: list[int]
    flash_schedule: int
    full_schedule: int


async def seed(patients: int, seats: int, slots: int) -> Seeded:
    """Patients (accounts, one patient each, access tokens issued as a login would) and two sessions
    tomorrow in two departments, released an hour ago."""
    tag = secrets.token_hex(2)
    await Account.bulk_create(
        [
            Account(phone=f"16{i:09d}", name=f"学生{i}", password_hash="x", role=Role.PATIENT)
            for i in range(patients)
        ],
        batch_size=500,
    )
    accounts = await Account.filter(phone__startswith="16").order_by("id")
    await Patient.bulk_create(
        [
            Patient(
                account_id=a.id,
                name=a.name,
                relation=Relation.SELF,
                id_kind=IdKind.CAMPUS_NUMBER,
                id_number_cipher="bench",
                id_number_hash=f"bench-{tag}-{a.id}",
                id_number_masked="S****1",
                phone=a.phone,
            )
            for a in accounts
        ],
        batch_size=500,
    )
    patient_of = {p.account_id: p.id for p in await Patient.all()}
    crowd = []
    for a in accounts:
        token, _ = issue_access_token(SECRET, subject=a.id, role="patient", lifetime=timedelta(hours=2))
        crowd.append((token, patient_of[a.id]))

    async def session(code: str, capacity: int) -> tuple[int, list[int]]:
        department = await Department.create(name=f"门诊{code}", code=f"F{code}{tag}")
        room = await Room.create(name=f"诊室{code}", department=department)
        doctor_account = await Account.create(phone=f"17{code}{tag}000"[:11], name="医生", role=Role.DOCTOR)
        doctor = await Doctor.create(
            account=doctor_account, name="王医生", title="主任医师", department=department, room=room
        )
        registration = await RegistrationType.create(name=f"普通号{code}{tag}", fee=0)
        starts = (utcnow() + timedelta(days=1)).replace(microsecond=0)
        schedule = await Schedule.create(
            doctor=doctor,
            department=department,
            registration_type=registration,
            room=room,
            date=starts.date(),
            period=Period.MORNING,
            starts_at=starts,
            ends_at=starts + timedelta(hours=4),
            slot_minutes=240 // slots,
            capacity=capacity,
            fee=0,
            release_at=utcnow() - timedelta(hours=1),
        )
        base, extra = divmod(capacity, slots)
        ids = []
        for i in range(slots):
            seats_here = base + (1 if i < extra else 0)
            row = await Slot.create(
                schedule=schedule,
                starts_at=starts + timedelta(minutes=i * 240 // slots),
                ends_at=starts + timedelta(minutes=(i + 1) * 240 // slots),
                capacity=seats_here,
                remaining=seats_here,
            )
            ids.append(row.id)
        return schedule.id, ids

    flash_schedule, flash_slots = await session("1", seats)
    full_schedule, full_slots = await session("2", patients)
    return Seeded(crowd, flash_slots, full_slots, flash_schedule, full_schedule)


async def oversold(schedule_id: int) -> tuple[int, int]:
    """(seats sold beyond capacity or lost, bookings) for a session; the first must be 0."""
    problems = 0
    for slot in await Slot.filter(schedule_id=schedule_id):
        active = await Booking.filter(slot_id=slot.id, status__in=list(ACTIVE)).count()
        problems += abs(slot.capacity - slot.remaining - active) + (1 if slot.remaining < 0 else 0)
    numbers = await Booking.filter(schedule_id=schedule_id).values_list("queue_number", flat=True)
    problems += len(numbers) - len(set(numbers))
    return problems, len(numbers)


# ---------------------------------------------------------------- the references


async def bare_sql(database_url: str, count: int, concurrency: int) -> Figures:
    """The decision alone through the driver: BEGIN, conditional UPDATE, INSERT, COMMIT."""
    latencies: list[float] = []
    if database_url.startswith("sqlite"):
        db = await aiosqlite.connect(database_url.split("://", 1)[1])
        await db.execute("PRAGMA journal_mode=WAL")
        lock = asyncio.Lock()  # one connection, as tortoise does on SQLite

        async def one(i: int) -> None:
            started = time.perf_counter()
            async with lock:
                await db.execute("BEGIN")
                cursor = await db.execute(
                    "UPDATE bench_slot SET remaining = remaining - 1 WHERE id = 2 AND remaining > 0"
                )
                if cursor.rowcount == 1:
                    await db.execute("INSERT INTO bench_booking (slot_id, patient_id) VALUES (2, ?)", (i,))
                await db.commit()
            latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        seconds = time.perf_counter() - started
        await db.close()
        return Figures(
            "bare SQL (aiosqlite, 1 connection)", count, seconds, latencies, Counter(ok=count), 0.0
        )

    pool = await asyncpg.create_pool(database_url, min_size=concurrency, max_size=concurrency)

    async def one_pg(i: int) -> None:
        started = time.perf_counter()
        async with pool.acquire() as conn, conn.transaction():
            done = await conn.execute(
                "UPDATE bench_slot SET remaining = remaining - 1 WHERE id = 2 AND remaining > 0"
            )
            if done == "UPDATE 1":
                await conn.execute("INSERT INTO bench_booking (slot_id, patient_id) VALUES (2, $1)", i)
        latencies.append(time.perf_counter() - started)

    db_before = postgres_cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(one_pg(i) for i in range(count)))
    seconds = time.perf_counter() - started
    db_cpu = postgres_cpu_seconds() - db_before
    await pool.close()
    return Figures(
        f"bare SQL (asyncpg, {concurrency} connections)", count, seconds, latencies, Counter(ok=count), db_cpu
    )


async def create_reference_tables(count: int) -> None:
    conn = connections.get("default")
    serial = "SERIAL" if conn.capabilities.dialect == "postgres" else "INTEGER"
    await conn.execute_script(
        "CREATE TABLE bench_slot (id INTEGER PRIMARY KEY, remaining INTEGER NOT NULL);"
        f"CREATE TABLE bench_booking (id {serial} PRIMARY KEY, "
        "slot_id INTEGER NOT NULL, patient_id INTEGER NOT NULL);"
    )
    # Slot 1 for the reference app, slot 2 for bare SQL; both have a seat for every call.
    seats = int(count)
    await conn.execute_script(f"INSERT INTO bench_slot (id, remaining) VALUES (1, {seats}), (2, {seats});")  # noqa: S608


# ---------------------------------------------------------------- main


def profile_start(pid: int, directory: Path, name: str = "bookslot") -> subprocess.Popen[bytes] | None:
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        print("py-spy is not installed (requirements-dev.txt); no profile")
        return None
    directory.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            str(py_spy),
            "record",
            "--pid",
            str(pid),
            "--rate",
            "200",
            "--format",
            "raw",
            "-o",
            str(directory / f"{name}.txt"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def main(args: argparse.Namespace) -> tuple[Figures, Figures]:
    if args.processes > 1 and not (args.database_url or "").startswith(("postgres", "asyncpg")):
        raise SystemExit("several processes need PostgreSQL (--database-url postgres://…)")
    async with fresh_database(args.database_url) as database_url:
        env = {
            "GUALEMA_ENV": "production",  # no access log, no GraphiQL, as deployed
            "GUALEMA_DATABASE_URL": database_url,
            "GUALEMA_SECRET_KEY": SECRET,
            "GUALEMA_RUN_WORKERS": "false",
            "GUALEMA_DB_POOL_SIZE": str(args.pool),
            "GUALEMA_REDIS_URL": "",
            "GUALEMA_MAX_BOOKINGS_PER_ACCOUNT_PER_DAY": "3",
        }
        os.environ.update(env)
        os.environ.pop("GUALEMA_REDIS_URL", None)
        env.pop("GUALEMA_REDIS_URL")
        reset_settings()
        settings = get_settings()
        await migrate(settings)
        await open_database(settings)
        seeded = await seed(args.patients, args.seats, args.slots)
        await create_reference_tables(args.patients)
        print(
            f"flash crowd: {args.patients} patients, {args.seats} seats in {args.slots} slots, "
            f"{args.connections} connections, {args.processes} process(es), {database_url.split('://')[0]}"
        )

        command = [
            sys.executable,
            "-m",
            "gualema",
            "serve",
            "--loop",
            args.loop,
            "--workers",
            str(args.processes),
        ]
        server, capped = start_capped(command, env, args)
        urls = [server.url]
        try:
            flash_calls: list[tuple[str | None, dict[str, Any]]] = [
                (
                    token,
                    {
                        "input": {
                            "slotId": str(seeded.flash_slots[i % args.slots]),
                            "patientId": str(pid),
                            "idempotencyKey": f"flash-{i:08d}",
                        }
                    },
                )
                for i, (token, pid) in enumerate(seeded.crowd)
            ]
            flash = await fire(
                "1. flash crowd (bookSlot)", urls, flash_calls, BOOK, args.connections, server_pids(server)
            )
            flash.print("Booking")
            problems, sold = await oversold(seeded.flash_schedule)
            print(f"{'':<34} sold {sold} of {args.seats} seats, oversell/lost count: {problems}")
            # The same crowd presses again on the sold-out session: every answer is a refusal.
            again = [
                (token, {"input": {**v["input"], "idempotencyKey": f"again-{i:08d}"}})
                for i, (token, v) in enumerate(flash_calls)
            ]
            profiler = (
                profile_start(workers_of(server)[0], Path(args.profile), "refusals") if args.profile else None
            )
            refused = await fire(
                "1b. sold out (every call refused)", urls, again, BOOK, args.connections, server_pids(server)
            )
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=30)
            refused.print()

            profiler = profile_start(workers_of(server)[0], Path(args.profile)) if args.profile else None
            full_calls: list[tuple[str | None, dict[str, Any]]] = [
                (
                    token,
                    {
                        "input": {
                            "slotId": str(seeded.full_slots[i % args.slots]),
                            "patientId": str(pid),
                            "idempotencyKey": f"full-{i:08d}",
                        }
                    },
                )
                for i, (token, pid) in enumerate(seeded.crowd)
            ]
            full = await fire(
                "2. full path (every call books)",
                urls,
                full_calls,
                BOOK,
                args.connections,
                server_pids(server),
            )
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
                profiler.wait(timeout=30)
            full.print("Booking")
            problems_full, sold_full = await oversold(seeded.full_schedule)
            print(f"{'':<34} sold {sold_full} of {args.patients} seats, oversell/lost count: {problems_full}")
        finally:
            stop(server)
            uncap_cpu(capped)

        reference_command = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.minimal_booking_app:app",
            "--loop",
            args.loop,
            "--workers",
            str(args.processes),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        reference, capped = start_capped(reference_command, env, args)
        try:
            minimal_calls: list[tuple[str | None, dict[str, Any]]] = [
                (None, {"slotId": 1, "patientId": i}) for i in range(args.patients)
            ]
            minimal = await fire(
                "3. reference: minimal strawberry",
                [reference.url],
                minimal_calls,
                MINIMAL_BOOK,
                args.connections,
                server_pids(reference),
            )
            minimal.print()
        finally:
            stop(reference)
            uncap_cpu(capped)
        await close_database()
        sql = await bare_sql(database_url, args.patients, args.connections)
        sql.print()

        print()
        print(f"full path / minimal app: {full.rate / minimal.rate:.2f} (target >= 0.5)")
        if full.server_cpu and minimal.server_cpu:
            ratio = (minimal.server_cpu / minimal.requests) / (full.server_cpu / full.requests)
            print(f"same ratio from server CPU per call (robust on a busy machine): {ratio:.2f}")
        p99 = sorted(full.latencies)[int(0.99 * len(full.latencies))] * 1000
        cap_note = f" (each process capped at {args.cpu_per_process} core)" if args.cpu_per_process else ""
        print(f"full path p99: {p99:.0f} ms (target < 500 uncapped){cap_note}")
        if refused.server_cpu and full.server_cpu:
            per_refusal, per_booking = refused.server_cpu / refused.requests, full.server_cpu / full.requests
            print(
                f"server CPU per call by answer: Booking {1000 * per_booking:.2f} ms, sold-out refusal "
                f"{1000 * per_refusal:.2f} ms = {per_refusal / per_booking:.2f} of a booking (target <= 0.33)"
            )
        print(f"oversell: {problems + problems_full} (must be 0)")
        if args.profile:
            print(f"profile: {args.profile}/bookslot.txt (collapsed stacks; summarise with --summarise)")
        return full, minimal


async def compare_processes(args: argparse.Namespace) -> None:
    """The whole run with one server process, then with two (each on its own fresh database)."""
    runs: dict[int, tuple[Figures, Figures]] = {}
    for processes in (1, 2):
        print(f"\n=== {processes} process(es)")
        runs[processes] = await main(argparse.Namespace(**{**vars(args), "processes": processes}))
    (full_1, minimal_1), (full_2, minimal_2) = runs[1], runs[2]
    print()
    print(f"2 processes / 1, full path: {full_2.rate / full_1.rate:.2f} (target >= 1.5)")
    print(f"2 processes / 1, reference app: {minimal_2.rate / minimal_1.rate:.2f}")
    print(
        f"machine busy during the full path: {full_1.machine_busy:.2f} (1 process), "
        f"{full_2.machine_busy:.2f} (2 processes) of {os.cpu_count()} cores; server CPU per call "
        f"{1000 * full_1.server_cpu / full_1.requests:.2f} and "
        f"{1000 * full_2.server_cpu / full_2.requests:.2f} ms"
    )


def summarise(path: Path, top: int = 40) -> None:
    """Self and inclusive sample counts per function from a py-spy raw (collapsed) file."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    print(f"{total} samples")
    print("inclusive:")
    for frame, count in inclusive.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {frame[:150]}")
    print("self:")
    for frame, count in own.most_common(top // 2):
        print(f"  {100 * count / total:5.1f}%  {frame[:150]}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("GUALEMA_BENCH_DATABASE_URL"),
        help="postgres://user@host:port (a fresh database is made); default SQLite",
    )
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument(
        "--compare-processes",
        action="store_true",
        help="run with 1 and then 2 processes and print the scaling (needs PostgreSQL)",
    )
    parser.add_argument(
        "--cpu-per-process",
        type=float,
        default=0.0,
        help="limit each server process to this many cores (root; stands in for one host per process)",
    )
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--seats", type=int, default=200)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--pool", type=int, default=20, help="database connections per server process")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--profile", help="directory for a py-spy profile of part 2")
    parser.add_argument("--summarise", help="print a summary of a py-spy raw profile file and exit")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args(sys.argv[1:])
    if arguments.summarise:
        summarise(Path(arguments.summarise))
    else:
        asyncio.run(compare_processes(arguments) if arguments.compare_processes else main(arguments))
