"""Call-to-screen fan-out over graphql-transport-ws: Gualema's queueBoard against a reference.

    .venv/bin/python bench/fanout.py                       # both parts, 1000 displays, 5 calls/s, 20 s
    .venv/bin/python bench/fanout.py --only reference --subscribers 250 --rate 20
    .venv/bin/python bench/fanout.py --only gualema --processes 2 \
        --database-url postgres://postgres@127.0.0.1:5432 --redis-url redis://127.0.0.1:6379/0

S displays open WebSockets (spread round-robin over the server processes), subscribe, and wait for
their first message (the snapshot). A driver then makes calls at R per second for T seconds over
HTTP, each against the process after the previous one, and every display records when it first sees
each call. Printed per part: call-to-screen latency p50/p99/max (from the moment the driver sends the
call to the moment a display has parsed the message showing it), calls a display never saw (lost),
deliveries per second, server RSS per idle connection ((RSS after subscribing - before) / S, and
the growth per connection of the second half of the displays, which connect in a second wave) and
server CPU seconds.

The reference is the minimal strawberry subscription of the issue: one process, broadcaster's
memory backend, a board object yielded per event and rendered by strawberry once per subscriber.
Gualema runs `python -m gualema serve` processes on a fresh database (SQLite for one process,
PostgreSQL for two) sharing Redis, seeded with one room, a doctor and checked-in patients; it drives
`callNext(roomId)` and `queueBoard(roomId)` by name. The displays and the driver run in this process
on the same (shared, 2-core) machine as the servers: quote figures as provisional. The displays use
bench/lean_display.py unless `--client websockets` (decision 275): a real TV is a device of its own,
and a costly client here shows up as server latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import httpx
import strawberry
import uvicorn
import websockets
from broadcaster import Broadcast
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))


from bench.lean_display import LeanWebSocket, ParsedMessages
from bench.render_cache import RenderCache
from bench.servers import Server, start_server, stop_server
from gualema.database import close_database, migrate, open_database
from gualema.graphql_schema import SharedEventExecution
from gualema.settings import get_settings, reset_settings
from models.booking import Booking, BookingStatus
from models.booking.tables import active_department_day_key, active_session_key
from models.scheduling import Slot
from tests import factories

PROTOCOL = "graphql-transport-ws"
CONNECT_CONCURRENCY = 64
DRAIN_SECONDS = 10.0
WARM_UP_NUMBER = 900  # call numbers from here on are the unmeasured warm-up calls


# ---------------------------------------------------------------- the reference server


REFERENCE_BOARD = """
subscription($roomId: Int!) {
  board(roomId: $roomId) {
    sequence roomName doctorName
    called { label patientName }
    waiting { label patientName }
    counts { waiting called done }
  }
}"""
REFERENCE_CALL = "mutation($roomId: Int!, $sequence: Int!) { call(roomId: $roomId, sequence: $sequence) }"


# A minimal strawberry app fed by broadcaster's memory backend, as a tutorial would write it.
reference_broadcast = Broadcast("memory://")


@strawberry.type
class ReferenceTicket:
    label: str
    patient_name: str
    state: str


@strawberry.type
class ReferenceCounts:
    waiting: int
    called: int
    done: int


@strawberry.type
class ReferenceBoard:
    same_for_every_viewer: ClassVar[bool] = True  # read only by SharedEventExecution (the shared part)
    sequence: int
    room_name: str
    doctor_name: str
    called: ReferenceTicket | None
    waiting: list[ReferenceTicket]
    counts: ReferenceCounts


def reference_board_from(data: dict[str, Any]) -> ReferenceBoard:
    return ReferenceBoard(
        sequence=data["sequence"],
        room_name=data["room_name"],
        doctor_name=data["doctor_name"],
        called=ReferenceTicket(**data["called"]) if data["called"] else None,
        waiting=[ReferenceTicket(**ticket) for ticket in data["waiting"]],
        counts=ReferenceCounts(**data["counts"]),
    )


def reference_board_data(sequence: int) -> dict[str, Any]:
    def ticket(number: int, state: str) -> dict[str, Any]:
        return {"label": f"A{number:03d}", "patient_name": "张*三", "state": state}

    return {
        "sequence": sequence,
        "room_name": "内科 3 诊室",
        "doctor_name": "李医生",
        "called": ticket(sequence, "called") if sequence else None,
        "waiting": [ticket(sequence + n, "waiting") for n in range(1, 6)],
        "counts": {"waiting": 50, "called": 1, "done": sequence},
    }


@strawberry.type
class ReferenceQuery:
    ok: bool = True


@strawberry.type
class ReferenceMutation:
    @strawberry.mutation
    async def call(self, room_id: int, sequence: int) -> bool:
        message = json.dumps(reference_board_data(sequence))
        await reference_broadcast.publish(channel=f"room:{room_id}", message=message)
        return True


@strawberry.type
class ReferenceSubscription:
    @strawberry.subscription
    async def board(self, room_id: int) -> AsyncGenerator[ReferenceBoard, None]:
        async with reference_broadcast.subscribe(channel=f"room:{room_id}") as subscriber:
            yield reference_board_from(reference_board_data(0))  # the snapshot: the display is live
            async for event in subscriber:  # type: ignore[union-attr]
                assert event is not None
                yield reference_board_from(json.loads(event.message))


# -- the same board rendered once per change, with the product's mechanism (decision 095)
#
# The subscription yields ONE board object per change to every subscriber (bench/render_cache.py), and
# gualema.graphql_schema.SharedEventExecution executes a selection set once per (that object, query
# text, variables) because ReferenceBoard declares `same_for_every_viewer`. The plain reference's
# schema keeps strawberry's own executor, so there the declaration changes nothing.

rendered_boards: RenderCache[ReferenceBoard] = RenderCache()


@strawberry.type
class SharedReferenceSubscription:
    @strawberry.subscription
    async def board(self, room_id: int) -> AsyncGenerator[ReferenceBoard, None]:
        channel = f"room:{room_id}"
        async with reference_broadcast.subscribe(channel=channel) as subscriber:
            yield reference_board_from(reference_board_data(0))  # the snapshot: the display is live
            async for event in subscriber:  # type: ignore[union-attr]
                assert event is not None
                data = json.loads(event.message)

                async def render(data: dict[str, Any] = data) -> ReferenceBoard:
                    return reference_board_from(data)

                yield await rendered_boards.get_or_render(channel, data["sequence"], render)


def reference_app(shared: bool = False) -> Starlette:
    if shared:
        schema = strawberry.Schema(
            ReferenceQuery,
            ReferenceMutation,
            SharedReferenceSubscription,
            execution_context_class=SharedEventExecution,
        )
    else:
        schema = strawberry.Schema(ReferenceQuery, ReferenceMutation, ReferenceSubscription)
    graphql = GraphQL(schema, subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL])

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with reference_broadcast:
            yield

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]), WebSocketRoute("/graphql", graphql)],
        lifespan=lifespan,
    )


def serve_reference(port: int, loop: str, deflate: bool, shared: bool) -> None:
    uvicorn.run(
        reference_app(shared),
        host="127.0.0.1",
        port=port,
        loop=loop,
        log_level="warning",
        ws_per_message_deflate=deflate,
    )


# ---------------------------------------------------------------- processes and measurements


@dataclass
class Display:
    """One TV: first time it saw each call marker, messages received, and how it ended."""

    seen: dict[str, float] = field(default_factory=dict)
    messages: int = 0
    messages_before_calls: int = 0
    resyncs: int = 0
    live: asyncio.Event = field(default_factory=asyncio.Event)
    error: str | None = None

    def take(self, message: dict[str, Any], now: float, markers_of: MarkersOf) -> None:
        """A message after the subscription started; raises on one that ends it."""
        if message["type"] != "next":
            raise RuntimeError(f"subscription ended: {message}")
        payload = message["payload"]
        if payload.get("errors"):
            raise RuntimeError(f"subscription error: {payload['errors']}")
        self.messages += 1
        if not self.live.is_set():
            self.live.set()  # the snapshot
            return
        if is_snapshot(payload["data"]):
            self.resyncs += 1
        for marker in markers_of(payload["data"]):
            self.seen.setdefault(marker, now)


MarkersOf = Callable[[dict[str, Any]], list[str]]


def connection_init(token: str | None) -> str:
    return json.dumps(
        {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"} if token else {}}
    )


def subscribe(query: str, variables: dict[str, Any]) -> str:
    return json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})


def is_snapshot(data: dict[str, Any]) -> bool:
    """A fresh snapshot after the first: the server resynchronised this display."""
    return any(isinstance(value, dict) and value.get("snapshot") is True for value in data.values())


async def watch(
    display: Display,
    server: Server,
    token: str | None,
    query: str,
    variables: dict[str, Any],
    markers_of: MarkersOf,
    stop: asyncio.Event,
    gate: asyncio.Semaphore,
) -> None:
    try:
        async with gate:
            socket = await websockets.connect(
                server.ws_url,
                subprotocols=[websockets.Subprotocol(PROTOCOL)],
                compression=None,
                open_timeout=60,
                # An overloaded server answers pings late; a display that gives up would hide the
                # latency this bench is here to measure.
                ping_interval=None,
            )
            await socket.send(connection_init(token))
            ack = json.loads(await socket.recv())
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"connection refused: {ack}")
            await socket.send(subscribe(query, variables))
        async with socket:
            # One recv per message and no task per message: the displays share this machine with
            # the servers, and a costly client shows up as server latency.
            while not stop.is_set():
                raw = await socket.recv()
                now = time.perf_counter()
                message = json.loads(raw)
                if message["type"] == "ping":
                    await socket.send(json.dumps({"type": "pong"}))
                else:
                    display.take(message, now, markers_of)
    except Exception as exc:
        display.error = f"{type(exc).__name__}: {exc}"
        display.live.set()


PARSED = ParsedMessages()


async def watch_lean(
    display: Display,
    server: Server,
    token: str | None,
    query: str,
    variables: dict[str, Any],
    markers_of: MarkersOf,
    stop: asyncio.Event,
    gate: asyncio.Semaphore,
) -> None:
    """`watch` with bench/lean_display.py: each message handled as its frame arrives, no task."""
    acked = asyncio.get_running_loop().create_future()
    socket: LeanWebSocket | None = None

    def fail(reason: str) -> None:
        display.error = display.error or reason
        display.live.set()
        if socket is not None:
            socket.close()

    def on_text(raw: bytes, now: float) -> None:
        message = PARSED(raw)  # shared between displays: read, never changed
        kind = message.get("type")
        if kind == "ping":
            assert socket is not None
            socket.send_text('{"type":"pong"}')
        elif kind == "connection_ack":
            if not acked.done():
                acked.set_result(None)
        else:
            try:
                display.take(message, now, markers_of)
            except RuntimeError as exc:
                fail(str(exc))

    try:
        async with gate:
            socket = await LeanWebSocket.connect(server.ws_url, PROTOCOL, on_text)
            socket.send_text(connection_init(token))
            await asyncio.wait_for(acked, 60)
            socket.send_text(subscribe(query, variables))
        stopped: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        closed: asyncio.Future[Any] = socket.closed
        await asyncio.wait([stopped, closed], return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if socket.closed.done() and not stop.is_set():
            fail("closed by the server")
    except Exception as exc:
        fail(f"{type(exc).__name__}: {exc}")
    finally:
        if socket is not None:
            socket.close()


@dataclass
class Figures:
    name: str
    subscribers: int
    processes: int
    calls: int
    latencies_ms: list[float]
    lost: int
    snapshots: int
    failed_displays: int
    deliveries: int
    seconds: float
    rss_per_connection: float
    rss_per_added_connection: float
    cpu_seconds: float
    bench_cpu_seconds: float
    errors: list[str]
    # (call marker, its p50 over displays in ms), slowest first: a tail made by one late call looks
    # different from a tail spread over every call.
    slowest_calls: list[tuple[str, float]] = field(default_factory=list)

    def print(self) -> None:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")

        worst = max(lat, default=float("nan"))
        rate = self.deliveries / self.seconds
        print(
            f"\n== {self.name}: {self.subscribers} displays, {self.processes} process(es), {self.calls} calls"
        )
        print(f"  call-to-screen   p50 {pct(0.50):7.1f} ms   p99 {pct(0.99):7.1f} ms   max {worst:7.1f} ms")
        failed = self.failed_displays
        unseen = f"unseen {DRAIN_SECONDS:g} s after the last call; {failed} displays failed"
        print(f"  lost             {self.lost} ({unseen})")
        print(f"  re-snapshots     {self.snapshots} (resync or sequence gap, all displays together)")
        print(f"  deliveries/s     {rate:9.0f}   ({self.deliveries} in {self.seconds:.1f} s)")
        print(
            f"  RSS/connection   {self.rss_per_connection / 1024:7.1f} KiB (idle, after subscribing; "
            f"{self.rss_per_added_connection / 1024:.1f} KiB for each of the second half)"
        )
        per_thousand = self.cpu_seconds / max(self.deliveries, 1) * 1000
        print(
            f"  server CPU       {per_thousand:7.3f} s per 1000 deliveries = {per_thousand * 1000:.0f} us "
            "per delivery (least sensitive to a busy host)"
        )
        bench = self.bench_cpu_seconds
        print(f"  CPU              {self.cpu_seconds:7.1f} s servers, {bench:.1f} s displays and driver")
        if self.slowest_calls:
            slowest = ", ".join(f"{marker} {ms:.0f} ms" for marker, ms in self.slowest_calls[:5])
            print(f"  slowest calls    {slowest} (p50 over displays)")
        for error in self.errors[:3]:
            print(f"  error: {error}")


async def run_part(
    name: str,
    servers: list[Server],
    *,
    subscribers: int,
    rate: float,
    seconds: float,
    display_token: str | None,
    query: str,
    variables: dict[str, Any],
    markers_of: MarkersOf,
    call: Callable[[httpx.AsyncClient, Server, int], Awaitable[str]],
    client: str,
) -> Figures:
    async with httpx.AsyncClient(timeout=120) as http:  # a slow call is a figure, not a failure
        rss_before = sum(server.rss_bytes() for server in servers)
        stop = asyncio.Event()
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        displays = [Display() for _ in range(subscribers)]
        watchers: list[asyncio.Task[None]] = []

        async def connect(wave: list[Display], first: int) -> int:
            watchers.extend(
                asyncio.create_task(
                    (watch_lean if client == "lean" else watch)(
                        display,
                        servers[(first + i) % len(servers)],
                        display_token,
                        query,
                        variables,
                        markers_of,
                        stop,
                        gate,
                    )
                )
                for i, display in enumerate(wave)
            )
            await asyncio.gather(*(display.live.wait() for display in wave))
            await asyncio.sleep(1.0)  # a bench, not a test: let the allocators settle before reading RSS
            return sum(server.rss_bytes() for server in servers)

        # Two waves: the second one's RSS growth is the cost of one more idle connection, without
        # what the first connections pay once per process (lazy imports, pool connections, caches).
        half = subscribers // 2
        rss_half = await connect(displays[:half], 0)
        rss_after = await connect(displays[half:], half)
        marginal = (rss_after - rss_half) / max(subscribers - half, 1)

        sent: dict[str, float] = {}
        failures: list[str] = []

        async def one_call(number: int) -> None:
            started = time.perf_counter()
            try:
                marker = await call(http, servers[number % len(servers)], number)
            except Exception as exc:
                failures.append(f"call {number}: {type(exc).__name__}: {exc}")
                return
            sent[marker] = started

        # One unmeasured call per server process first: a process's first call pays one-off costs
        # (first queries of the kind, first publish on a fresh Redis connection) that say nothing
        # about fan-out. The displays see it like any other call.
        for number, server in enumerate(servers, start=WARM_UP_NUMBER):
            with contextlib.suppress(Exception):
                await call(http, server, number)
        settle = time.perf_counter() + DRAIN_SECONDS
        while time.perf_counter() < settle:
            if all(display.error or display.messages > len(servers) for display in displays):
                break
            await asyncio.sleep(0.05)
        for display in displays:
            display.messages_before_calls = display.messages
        cpu_before = sum(server.cpu_seconds() for server in servers)
        bench_cpu_before = time.process_time()

        total = int(rate * seconds)
        began = time.perf_counter()
        calls = []
        for number in range(1, total + 1):
            delay = began + (number - 1) / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            calls.append(asyncio.create_task(one_call(number)))
        await asyncio.gather(*calls)
        deadline = time.perf_counter() + DRAIN_SECONDS
        while time.perf_counter() < deadline:
            if all(display.error or display.seen.keys() >= sent.keys() for display in displays):
                break
            await asyncio.sleep(0.05)
        finished = max((max(d.seen.values(), default=began) for d in displays), default=began)
        cpu = sum(server.cpu_seconds() for server in servers) - cpu_before
        bench_cpu = time.process_time() - bench_cpu_before
        stop.set()
        for watcher in watchers:
            watcher.cancel()  # each waits in recv(); leaving closes its socket
        await asyncio.gather(*watchers, return_exceptions=True)

    latencies = [
        (display.seen[marker] - started) * 1000
        for display in displays
        for marker, started in sent.items()
        if marker in display.seen
    ]
    per_call = {
        marker: sorted((d.seen[marker] - started) * 1000 for d in displays if marker in d.seen)
        for marker, started in sent.items()
    }
    slowest_calls = sorted(
        ((marker, times[len(times) // 2]) for marker, times in per_call.items() if times),
        key=lambda pair: -pair[1],
    )
    live_displays = [display for display in displays if display.error is None]
    lost = sum(1 for display in displays for marker in sent if marker not in display.seen)
    errors = failures + [display.error for display in displays if display.error]
    return Figures(
        name=name,
        subscribers=subscribers,
        processes=len(servers),
        calls=len(sent),
        latencies_ms=latencies,
        lost=lost,
        snapshots=sum(display.resyncs for display in displays),
        failed_displays=subscribers - len(live_displays),
        deliveries=sum(display.messages - display.messages_before_calls for display in displays),
        seconds=max(finished - began, 1e-9),
        rss_per_connection=(rss_after - rss_before) / subscribers,
        rss_per_added_connection=marginal,
        cpu_seconds=cpu,
        bench_cpu_seconds=bench_cpu,
        errors=errors,
        slowest_calls=slowest_calls,
    )


# ---------------------------------------------------------------- the two parts


async def reference_part(args: argparse.Namespace, *, shared: bool = False) -> Figures:
    command = [sys.executable, __file__, "reference-server", "--loop", args.loop]
    if args.deflate:
        command.append("--deflate")
    if shared:
        command.append("--shared")
    server = start_server(command, {}, "/graphql?query=%7Bok%7D")
    try:

        async def call(http: httpx.AsyncClient, server: Server, number: int) -> str:
            response = await http.post(
                server.url + "/graphql",
                json={"query": REFERENCE_CALL, "variables": {"roomId": 1, "sequence": number}},
            )
            response.raise_for_status()
            return f"A{number:03d}"

        def markers_of(data: dict[str, Any]) -> list[str]:
            called = data["board"]["called"]
            return [called["label"]] if called else []

        return await run_part(
            "reference rendered once per change (shared execution)"
            if shared
            else "reference: strawberry + broadcaster memory://",
            [server],
            subscribers=args.subscribers,
            rate=args.rate,
            seconds=args.seconds,
            display_token=None,
            query=REFERENCE_BOARD,
            variables={"roomId": 1},
            markers_of=markers_of,
            call=call,
            client=args.client,
        )
    finally:
        stop_server(server)


# What the displays select and what the doctor sends. The board selection mirrors the reference's
# (room, doctor, the called ticket, the next five, counts) so that the two parts compare like for like.
GUALEMA_BOARD = """
subscription($roomId: ID!) {
  queueBoard(roomId: $roomId) {
    sequence snapshot
    room { name }
    doctor { name }
    event { kind label }
    called { label patientName }
    waiting { label patientName }
    counts { waiting called done }
  }
}"""
GUALEMA_CALL_NEXT = """
mutation($roomId: ID!) {
  callNext(roomId: $roomId) { __typename ... on QueueTicket { label } ... on Error { message } }
}"""


@dataclass
class SeededRoom:
    room_id: int
    doctor_token: str
    admin_token: str
    booking_ids: list[int]


async def seed_gualema(bookings: int) -> SeededRoom:
    """One room, its doctor, a session running now and `bookings` CONFIRMED bookings for it (rows
    written directly, as tests.factories does; check-in then goes through the API)."""
    reset_settings()
    settings = get_settings()
    await migrate(settings)
    await open_database(settings)
    try:
        doctor, doctor_login = await factories.doctor()
        admin = await factories.admin_user()
        schedule = await factories.session(
            capacity=bookings,
            starts_in=timedelta(minutes=-30),
            duration=timedelta(hours=4),
            doctor_row=doctor,
        )
        slot = await Slot.filter(schedule_id=schedule.id).first()
        assert slot is not None
        owner = await factories.patient_user()
        booking_ids = []
        for number in range(1, bookings + 1):
            born = (date(1950, 1, 1) + timedelta(days=number)).strftime("%Y%m%d")  # unique ID numbers
            person = await factories.patient(
                owner, name=f"张{number}三", id_number=factories.resident_id(born)
            )
            booking = await Booking.create(
                account_id=owner.id,
                patient_id=person.id,
                schedule_id=schedule.id,
                slot_id=slot.id,
                department_id=schedule.department_id,
                visit_date=schedule.date,
                slot_starts_at=slot.starts_at,
                slot_ends_at=slot.ends_at,
                status=BookingStatus.CONFIRMED,
                queue_number=number,
                fee=0,
                active_session_key=active_session_key(person.id, schedule.id),
                active_department_day_key=active_department_day_key(
                    person.id, schedule.department_id, schedule.date
                ),
                idempotency_key=f"bench-{number}",
                request_fingerprint="bench",
            )
            booking_ids.append(booking.id)
        return SeededRoom(schedule.room_id, doctor_login.token, admin.token, booking_ids)
    finally:
        await close_database()


CHECK_IN_BY_STAFF = """
mutation($bookingId: ID!) {
  checkInByStaff(bookingId: $bookingId) { __typename ... on QueueTicket { label } ... on Error { message } }
}"""


async def check_in_everyone(server: Server, seeded: SeededRoom) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for booking_id in seeded.booking_ids:
            response = await http.post(
                server.url + "/graphql",
                json={"query": CHECK_IN_BY_STAFF, "variables": {"bookingId": str(booking_id)}},
                headers={"Authorization": f"Bearer {seeded.admin_token}"},
            )
            result = (response.json().get("data") or {}).get("checkInByStaff") or {}
            if "label" not in result:
                raise RuntimeError(f"checkInByStaff failed: {response.text[:300]}")


@asynccontextmanager
async def fresh_database(args: argparse.Namespace) -> AsyncIterator[str]:
    run = f"gualema_bench_{os.getpid()}_{secrets.token_hex(2)}"
    if args.processes == 1 and not args.database_url:
        path = Path(tempfile.gettempdir()) / f"{run}.sqlite3"
        yield f"sqlite://{path}"
        path.unlink(missing_ok=True)
        return

    base = args.database_url or "postgres://postgres@127.0.0.1:5432"
    admin = await asyncpg.connect(base.rstrip("/") + "/postgres")
    await admin.execute(f'CREATE DATABASE "{run}"')
    try:
        yield f"{base.rstrip('/')}/{run}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)')
        await admin.close()


async def gualema_part(args: argparse.Namespace, *, shared_fan_out: bool = True) -> Figures | None:
    async with fresh_database(args) as database_url:
        env = {
            "GUALEMA_ENV": "development",
            "GUALEMA_DATABASE_URL": database_url,
            "GUALEMA_REDIS_PREFIX": f"bench-{secrets.token_hex(3)}",
            "GUALEMA_SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "GUALEMA_RUN_WORKERS": "false",
            "GUALEMA_DB_POOL_SIZE": "10",
            # uvicorn counts open WebSockets against limit_concurrency (default 2000 per process):
            # a process holding thousands of displays must be allowed that many, plus its HTTP.
            "GUALEMA_HTTP_LIMIT_CONCURRENCY": str(args.subscribers + 2000),
            "GUALEMA_TIMEZONE": "UTC",  # the seeded session is "today" whatever the hour
            # false: every subscription on its own strawberry stream, as before decision 270
            # every display here shares one token and one address: the bench measures fan-out, not limits
            "GUALEMA_ANONYMOUS_BUCKET_CAPACITY": "1000000000",
            "GUALEMA_ANONYMOUS_RESTORE_RATE": "1000000000",
            "GUALEMA_WS_SHARED_FAN_OUT": "true" if shared_fan_out else "false",
        }
        if args.redis_url:
            env["GUALEMA_REDIS_URL"] = args.redis_url
        os.environ.update(env)
        if not args.redis_url:
            os.environ.pop("GUALEMA_REDIS_URL", None)
        seeded = await seed_gualema(int(args.rate * args.seconds) + 10)

        def command(number: int) -> list[str]:
            profile = ["-m", "cProfile", "-o", f"{args.profile}/server-{number}.prof"] if args.profile else []
            return [sys.executable, *profile, "-m", "gualema", "serve", "--loop", args.loop]

        servers = [start_server(command(number), env, "/readyz") for number in range(args.processes)]
        try:
            token = await issue_display_token(servers[0], seeded)
            await check_in_everyone(servers[0], seeded)

            async def call(http: httpx.AsyncClient, server: Server, _number: int) -> str:
                response = await http.post(
                    server.url + "/graphql",
                    json={"query": GUALEMA_CALL_NEXT, "variables": {"roomId": str(seeded.room_id)}},
                    headers={"Authorization": f"Bearer {seeded.doctor_token}"},
                )
                body = response.json()
                result = (body.get("data") or {}).get("callNext")
                if not result or "label" not in result:
                    raise RuntimeError(json.dumps(body, ensure_ascii=False)[:300])
                return str(result["label"])

            def markers_of(data: dict[str, Any]) -> list[str]:
                # The call's own message names it; a snapshot after a resync shows it as called.
                board = data["queueBoard"]
                event = board.get("event") or {}
                markers = [event["label"]] if event.get("kind") == "called" else []
                return markers + ([board["called"]["label"]] if board.get("called") else [])

            how = "one shared stream per board" if shared_fan_out else "a stream per subscription"
            return await run_part(
                f"gualema: queueBoard via {'Redis' if args.redis_url else 'in-process broker'}, {how}",
                servers,
                subscribers=args.subscribers,
                rate=args.rate,
                seconds=args.seconds,
                display_token=token,
                query=GUALEMA_BOARD,
                variables={"roomId": str(seeded.room_id)},
                markers_of=markers_of,
                call=call,
                client=args.client,
            )
        finally:
            for server in servers:
                stop_server(server)


ISSUE_DISPLAY_TOKEN = """
mutation($input: IssueDisplayTokenInput!) {
  issueDisplayToken(input: $input) { __typename ... on DisplayToken { token } ... on Error { message } }
}"""


async def issue_display_token(server: Server, seeded: SeededRoom) -> str:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            server.url + "/graphql",
            json={"query": ISSUE_DISPLAY_TOKEN, "variables": {"input": {"roomIds": [str(seeded.room_id)]}}},
            headers={"Authorization": f"Bearer {seeded.admin_token}"},
        )
    result = ((response.json().get("data") or {}).get("issueDisplayToken")) or {}
    if "token" not in result:
        raise RuntimeError(f"issueDisplayToken failed: {response.text[:300]}")
    return str(result["token"])


# ---------------------------------------------------------------- entry point


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", "-s", type=int, default=1000)
    parser.add_argument("--rate", "-r", type=float, default=5.0, help="calls per second")
    parser.add_argument("--seconds", "-t", type=float, default=20.0)
    parser.add_argument(
        "--processes", "-p", type=int, choices=[1, 2], default=2, help="Gualema server processes"
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("GUALEMA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("GUALEMA_BENCH_DATABASE_URL"),
        help="PostgreSQL server (a fresh database is created); default SQLite for one process",
    )
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument(
        "--client",
        choices=["lean", "websockets"],
        default="lean",
        help="the displays' client: frames read in data_received, each distinct message parsed once "
        "(lean, bench/lean_display.py), or the websockets library with a parse per display",
    )
    parser.add_argument("--deflate", action="store_true", help="permessage-deflate on the reference server")
    parser.add_argument("--only", choices=["reference", "shared", "gualema"])
    parser.add_argument(
        "--shared-reference",
        action="store_true",
        help="also run the reference rendered once per change (with the product's SharedEventExecution)",
    )
    parser.add_argument(
        "--before",
        action="store_true",
        help="also run Gualema with GUALEMA_WS_SHARED_FAN_OUT=false first (before decision 270)",
    )
    parser.add_argument(
        "--profile", metavar="DIR", help="run the Gualema servers under cProfile, write DIR/*.prof"
    )
    return parser.parse_args(argv)


def print_before_after(before: Figures, after: Figures) -> None:
    def cpu_us(figures: Figures) -> float:
        return figures.cpu_seconds / max(figures.deliveries, 1) * 1e6

    def p99(figures: Figures) -> float:
        lat = sorted(figures.latencies_ms)
        return lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float("nan")

    print("\nbefore -> after (a stream per subscription -> one shared stream per board, same run)")
    print(f"  server CPU/delivery  {cpu_us(before):6.1f} -> {cpu_us(after):6.1f} us")
    print(f"  call-to-screen p99   {p99(before):6.1f} -> {p99(after):6.1f} ms")
    print(
        f"  RSS/idle connection  {before.rss_per_connection / 1024:6.1f} -> "
        f"{after.rss_per_connection / 1024:6.1f} KiB   lost {before.lost} -> {after.lost}"
    )


async def main(args: argparse.Namespace) -> None:
    print(
        f"fanout: {args.subscribers} displays, {args.rate:g} calls/s for {args.seconds:g} s, "
        f"loop {args.loop} (provisional: displays, driver and servers share this machine)"
    )
    results: list[Figures] = []
    if args.only in (None, "reference"):
        results.append(await reference_part(args))
        results[-1].print()
    if args.only == "shared" or (args.only is None and args.shared_reference):
        results.append(await reference_part(args, shared=True))
        results[-1].print()
    if args.only in (None, "gualema"):
        before = await gualema_part(args, shared_fan_out=False) if args.before else None
        if before is not None:
            before.print()
        figures = await gualema_part(args)
        if figures is not None:
            results.append(figures)
            figures.print()
        if before is not None and figures is not None:
            print_before_after(before, figures)
    if len(results) > 1 and args.only is None:
        reference = results[0]
        for other in results[1:]:
            ratio = (other.deliveries / other.seconds) / max(reference.deliveries / reference.seconds, 1e-9)
            print(f"\n{other.name}: {ratio:.2f}x the reference's deliveries/s at this load")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "reference-server":
        options = argparse.ArgumentParser()
        options.add_argument("reference-server")
        options.add_argument("--port", type=int, required=True)
        options.add_argument("--loop", default="asyncio")
        options.add_argument("--deflate", action="store_true")
        options.add_argument("--shared", action="store_true")
        parsed = options.parse_args()
        serve_reference(parsed.port, parsed.loop, parsed.deflate, parsed.shared)
    else:
        asyncio.run(main(parse_args(sys.argv[1:])))
