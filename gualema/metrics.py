"""Prometheus metrics at /metrics, in the text exposition format (version 0.0.4), written here.

Counters and histograms are kept in this process as requests happen; gauges that describe the database
(queues, outbox, jobs) are read when Prometheus scrapes, one grouped query each. With several server
processes, each is scraped on its own (docs/decisions/152).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import math
import re
import resource
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graphql import OperationDefinitionNode, OperationType
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType as StrawberryOperationType
from tortoise import connections
from tortoise.functions import Count, Min

from gualema.settings import Settings
from models.clock import utcnow
from models.jobs import Job
from models.notifications import Notification, SmsMessage, SmsStatus
from models.queueing import QueueTicket, TicketState

log = logging.getLogger("gualema.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Operation names come from clients: only plain names, and at most this many, are labels.
MAX_OPERATION_NAMES = 200
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels, extra: Labels = ()) -> str:
    pairs = labels + extra
    if not pairs:
        return ""
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in pairs) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


@dataclass
class Counter:
    name: str
    help: str
    values: dict[Labels, float] = field(default_factory=dict)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        self.values[key] = self.values.get(key, 0.0) + amount

    def render(self) -> Iterator[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(labels)} {_number(value)}"


@dataclass
class Histogram:
    name: str
    help: str
    buckets: tuple[float, ...] = LATENCY_BUCKETS
    series: dict[Labels, list[float]] = field(default_factory=dict)  # bucket counts…, +Inf, sum

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        counts = self.series.get(key)
        if counts is None:
            counts = self.series[key] = [0.0] * (len(self.buckets) + 2)
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                counts[index] += 1
        counts[-2] += 1
        counts[-1] += value

    def render(self) -> Iterator[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for labels, counts in sorted(self.series.items()):
            for bound, count in zip((*self.buckets, math.inf), counts[:-1], strict=True):
                yield f"{self.name}_bucket{_labels(labels, (('le', _number(bound)),))} {_number(count)}"
            yield f"{self.name}_sum{_labels(labels)} {_number(counts[-1])}"
            yield f"{self.name}_count{_labels(labels)} {_number(counts[-2])}"


@dataclass(frozen=True)
class GaugeSample:
    value: float
    labels: Labels = ()


@dataclass
class Gauge:
    name: str
    help: str
    read: Callable[[], Awaitable[list[GaugeSample]]]

    async def render(self) -> list[str]:
        try:
            samples = await self.read()
        except Exception as exc:  # a failing probe must not hide the other metrics
            log.warning("metric %s unavailable: %s", self.name, type(exc).__name__)
            return []
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} gauge"]
        lines += [f"{self.name}{_labels(s.labels)} {_number(s.value)}" for s in samples]
        return lines


# -- what is counted as it happens

OPERATIONS = Counter(
    "gualema_graphql_operations_total", "GraphQL operations by name, type and outcome (ok, error)."
)
LATENCY = Histogram("gualema_graphql_operation_seconds", "GraphQL operation latency by operation name.")
ANSWERS = Counter(
    "gualema_graphql_answers_total",
    "Answers of mutation fields by result type: `success` or the expected error's union member "
    "(bookSlot's are the booking outcomes).",
)
PAYMENT_NOTIFICATIONS = Counter(
    "gualema_payment_notifications_total", "Payment provider notifications by provider and HTTP status."
)
ANSWERED_WITHOUT_EXECUTION = Counter(
    "gualema_graphql_answered_without_execution_total",
    "Answers given before GraphQL execution, by field and answer (bookSlot refused for a slot this "
    "process knows is sold out); also counted in the operations and answers above.",
)
RATE_LIMIT_FALLBACKS = Counter(
    "gualema_rate_limit_fallbacks_total",
    "Requests charged to this process's share of a bucket because Redis was unreachable.",
)
RATE_LIMIT_DEGRADED = [0]  # 1 while this process keeps rate limits in memory (Redis unreachable)
OPEN_WEBSOCKETS = [0]
OPEN_SUBSCRIPTIONS = [0]
_operation_names: set[str] = set()
_expected_errors: ContextVar[list[tuple[str, str]] | None] = ContextVar("expected_errors", default=None)


def expected_error(field_name: str, error_type: str) -> None:
    """Called by the schema's error mapping for each expected error (schema/errors.py observers)."""
    found = _expected_errors.get()
    if found is not None:
        found.append((field_name, error_type))


def operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    if name in _operation_names:
        return name
    if not _PLAIN_NAME.fullmatch(name) or len(_operation_names) >= MAX_OPERATION_NAMES:
        return "other"
    _operation_names.add(name)
    return name


class OperationMetrics(SchemaExtension):
    """Times each query and mutation and counts its outcome and the answers of its mutation fields;
    a subscription is counted open from its start to its end (strawberry runs `on_operation` around
    the whole stream), and its lifetime is not a latency."""

    _subscribed = False

    def on_execute(self) -> Iterator[None]:
        if self.execution_context.operation_type is StrawberryOperationType.SUBSCRIPTION:
            self._subscribed = True
            OPEN_SUBSCRIPTIONS[0] += 1
        yield

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        answers: list[tuple[str, str]] = []
        token = _expected_errors.set(answers)
        try:
            yield
        finally:
            _expected_errors.reset(token)
            if self._subscribed:
                OPEN_SUBSCRIPTIONS[0] -= 1
            self._record(time.perf_counter() - started, answers)

    def _record(self, seconds: float, answers: list[tuple[str, str]]) -> None:
        context = self.execution_context
        operation = _operation(context.graphql_document, context.operation_name)
        kind = operation.operation.value if operation else "unknown"
        named = context.operation_name or (operation.name.value if operation and operation.name else None)
        name = operation_label(named)
        result = context.result
        outcome = "error" if result is None or getattr(result, "errors", None) else "ok"
        if self._subscribed:
            outcome = "ended"
        OPERATIONS.inc(operation=name, type=kind, outcome=outcome)
        if not self._subscribed:
            LATENCY.observe(seconds, operation=name)
        if operation is not None and operation.operation is OperationType.MUTATION:
            _count_answers(operation, answers, outcome)


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    if document is None:
        return None
    found = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for definition in found:
        if name is None or (definition.name and definition.name.value == name):
            return definition
    return None


def observe_answered_without_execution(
    operation: OperationDefinitionNode,
    operation_name: str | None,
    field_name: str,
    answer: str,
    seconds: float,
) -> None:
    """An answer the endpoint gave without executing (gualema/sold_out_answers.py) counts as executed."""
    name = operation_label(operation_name or (operation.name.value if operation.name else None))
    OPERATIONS.inc(operation=name, type=operation.operation.value, outcome="ok")
    LATENCY.observe(seconds, operation=name)
    ANSWERS.inc(field=field_name, answer=answer)
    ANSWERED_WITHOUT_EXECUTION.inc(field=field_name, answer=answer)


def _count_answers(operation: OperationDefinitionNode, answers: list[tuple[str, str]], outcome: str) -> None:
    errors = dict(answers)
    for selection in operation.selection_set.selections:
        field_name = getattr(getattr(selection, "name", None), "value", None)
        if field_name is None or field_name.startswith("__"):
            continue
        answer = errors.get(field_name) or ("success" if outcome == "ok" else "error")
        ANSWERS.inc(field=field_name, answer=answer)


def observe_payment_notification(provider: str, status: int) -> None:
    PAYMENT_NOTIFICATIONS.inc(provider=provider, status=str(status))


class WebSocketCounter:
    """Counts open WebSockets (each carries a client's subscriptions)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        OPEN_WEBSOCKETS[0] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            OPEN_WEBSOCKETS[0] -= 1


# -- what is read at scrape time


async def _queue_lengths() -> list[GaugeSample]:
    rows = (
        await QueueTicket.filter(state=TicketState.WAITING)
        .annotate(n=Count("id"))
        .group_by("room_id")
        .values("room_id", "n")
    )
    return [GaugeSample(row["n"], (("room", str(row["room_id"])),)) for row in rows]


async def _outbox_backlog() -> list[GaugeSample]:
    sms = await SmsMessage.filter(status=SmsStatus.PENDING).count()
    in_app = await Notification.filter(published_at__isnull=True).count()
    return [GaugeSample(sms, (("outbox", "sms"),)), GaugeSample(in_app, (("outbox", "in_app"),))]


async def _oldest_age(model: Any, **filters: Any) -> float:
    [row] = await model.filter(**filters).annotate(oldest=Min("created_at")).values("oldest")
    oldest = row["oldest"]
    if oldest is None:
        return 0.0
    if isinstance(oldest, str):  # SQLite aggregates come back as text
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (utcnow() - oldest).total_seconds())


async def _outbox_age() -> list[GaugeSample]:
    return [
        GaugeSample(await _oldest_age(SmsMessage, status=SmsStatus.PENDING), (("outbox", "sms"),)),
        GaugeSample(await _oldest_age(Notification, published_at__isnull=True), (("outbox", "in_app"),)),
    ]


async def _job_backlog() -> list[GaugeSample]:
    pending = Job.filter(done_at__isnull=True, failed_at__isnull=True)
    due = await pending.filter(run_at__lte=utcnow()).count()
    later = await pending.filter(run_at__gt=utcnow()).count()
    failed = await Job.filter(failed_at__isnull=False).count()
    return [
        GaugeSample(due, (("state", "due"),)),
        GaugeSample(later, (("state", "scheduled"),)),
        GaugeSample(failed, (("state", "failed"),)),
    ]


async def _database_pool() -> list[GaugeSample]:
    pool = getattr(connections.get("default"), "_pool", None)
    if pool is None:  # SQLite: one connection, no pool
        return [GaugeSample(1, (("state", "size"),))]
    if hasattr(pool, "get_size"):  # asyncpg
        size, idle = pool.get_size(), pool.get_idle_size()
    else:  # asyncmy/aiomysql
        size, idle = pool.size, pool.freesize
    return [
        GaugeSample(size, (("state", "size"),)),
        GaugeSample(size - idle, (("state", "in_use"),)),
        GaugeSample(
            pool.get_max_size() if hasattr(pool, "get_max_size") else pool.maxsize, (("state", "max"),)
        ),
    ]


async def _memory() -> list[GaugeSample]:
    rss = _resident_bytes()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    return [GaugeSample(rss, (("kind", "resident"),)), GaugeSample(peak, (("kind", "peak_resident"),))]


def _resident_bytes() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, IndexError, ValueError):
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return float(pages * resource.getpagesize())


async def _websockets() -> list[GaugeSample]:
    return [GaugeSample(OPEN_WEBSOCKETS[0])]


async def _subscriptions() -> list[GaugeSample]:
    return [GaugeSample(OPEN_SUBSCRIPTIONS[0])]


async def _rate_limits_degraded() -> list[GaugeSample]:
    return [GaugeSample(RATE_LIMIT_DEGRADED[0])]


GAUGES = [
    Gauge("gualema_queue_waiting", "Patients waiting per room.", _queue_lengths),
    Gauge("gualema_subscriptions_open", "Running GraphQL subscriptions in this process.", _subscriptions),
    Gauge("gualema_subscription_connections", "Open GraphQL WebSocket connections.", _websockets),
    Gauge(
        "gualema_outbox_backlog",
        "Outbox rows not yet delivered (sms) or published (in_app).",
        _outbox_backlog,
    ),
    Gauge("gualema_outbox_oldest_age_seconds", "Age of the oldest undelivered outbox row.", _outbox_age),
    Gauge("gualema_jobs", "Durable jobs by state (due, scheduled, failed).", _job_backlog),
    Gauge("gualema_database_connections", "Database pool connections (size, in_use, max).", _database_pool),
    Gauge("gualema_process_memory_bytes", "Memory of this server process.", _memory),
    Gauge(
        "gualema_rate_limit_degraded",
        "1 while this process keeps rate limits in memory because Redis is unreachable.",
        _rate_limits_degraded,
    ),
]


async def exposition() -> str:
    lines: list[str] = []
    for metric in (
        OPERATIONS,
        ANSWERS,
        ANSWERED_WITHOUT_EXECUTION,
        PAYMENT_NOTIFICATIONS,
        RATE_LIMIT_FALLBACKS,
    ):
        lines += metric.render()
    lines += LATENCY.render()
    for gauge in GAUGES:
        lines += await gauge.render()
    return "\n".join(lines) + "\n"


def allowed(request: Request, settings: Settings) -> bool:
    """A configured token is required; without one, only peers on the allowed networks."""
    if settings.metrics_token is not None:
        expected = f"Bearer {settings.metrics_token.get_secret_value()}"
        return hmac.compare_digest(request.headers.get("authorization", ""), expected)
    if request.client is None:
        return False
    try:
        peer = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(peer in ipaddress.ip_network(n, strict=False) for n in settings.metrics_allowed_networks)


async def metrics_endpoint(request: Request) -> Response:
    if not allowed(request, request.app.state.settings):
        return PlainTextResponse("forbidden", status_code=403)
    return Response(await exposition(), media_type=CONTENT_TYPE)
