"""The daily rollup: counters moved in the transaction of each change (docs/decisions/180).

`add` is one multi-row upsert (`value = value + delta`), which is atomic on every database, so
concurrent changes from any number of processes never lose an increment. Rows are written in key
order, so two transactions upserting the same counters never wait on each other in a cycle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.transactions import in_transaction

from models.booking.status import BookingStatus
from models.booking.tables import Booking, BookingEvent
from models.booking.transition import BookingChanged
from models.notifications import notice_defaults
from models.payments import PaymentOrder
from models.scheduling import Schedule, ScheduleChanged, ScheduleStatus
from models.statistics.metrics import Delta, Metric, booking_deltas, local_day
from models.statistics.tables import DailyFigure
from models.waitlist.entries import WaitlistEntry

# Counter rows per (day, doctor, metric): the booking rush spreads its increments over these. Fewer
# rows meant long chains of row versions on PostgreSQL's hot counters (bench/kpis.py: 4 shards cost
# 4-38 % of a sequential placement, 16 shards -3-6 %); days closed two days are folded to shard 0.
SHARDS = 16

Key = tuple[date, int, int, str, int]  # day, department, doctor, metric, shard

_UPSERT = {
    "sqlite": (
        "INSERT INTO stat_daily (day, department_id, doctor_id, metric, shard, value) VALUES {rows} "
        "ON CONFLICT (day, department_id, doctor_id, metric, shard) "
        "DO UPDATE SET value = stat_daily.value + excluded.value"
    ),
    "postgres": (
        "INSERT INTO stat_daily (day, department_id, doctor_id, metric, shard, value) VALUES {rows} "
        "ON CONFLICT (day, department_id, doctor_id, metric, shard) "
        "DO UPDATE SET value = stat_daily.value + excluded.value"
    ),
    "mysql": (
        "INSERT INTO stat_daily (day, department_id, doctor_id, metric, shard, value) VALUES {rows} "
        "ON DUPLICATE KEY UPDATE value = value + VALUES(value)"
    ),
}


@cache
def hospital_zone(name: str | None = None) -> ZoneInfo:
    return ZoneInfo(name or notice_defaults().tz_name)


async def add(counts: Iterable[tuple[Key, int]]) -> None:
    """Add each amount to its counter, creating missing rows; in the caller's transaction."""
    merged: Counter[Key] = Counter()
    for key, amount in counts:
        merged[key] += amount
    rows = sorted((key, amount) for key, amount in merged.items() if amount)
    if not rows:
        return
    client = connections.get("default")
    dialect = client.capabilities.dialect
    values: list[Any] = []
    placeholders = []
    for index, ((day, department_id, doctor_id, metric, shard), amount) in enumerate(rows):
        day_value: Any = day.isoformat() if dialect == "sqlite" else day
        values.extend([day_value, department_id, doctor_id, metric, shard, amount])
        if dialect == "postgres":
            base = index * 6
            placeholders.append("(" + ", ".join(f"${base + i}" for i in range(1, 7)) + ")")
        else:
            mark = "?" if dialect == "sqlite" else "%s"
            placeholders.append("(" + ", ".join([mark] * 6) + ")")
    await client.execute_query(_UPSERT[dialect].format(rows=", ".join(placeholders)), values)


_doctors: dict[int, int] = {}


async def doctor_of(schedule_id: int) -> int:
    # A session's doctor never changes, so it is remembered per process.
    doctor_id = _doctors.get(schedule_id)
    if doctor_id is None:
        schedule = await Schedule.get(id=schedule_id).only("id", "doctor_id")
        doctor_id = schedule.doctor_id
        if len(_doctors) > 50_000:
            _doctors.clear()
        _doctors[schedule_id] = doctor_id
    return doctor_id


def booking_keys(
    deltas: Iterable[Delta], *, department_id: int, doctor_id: int, booking_id: int
) -> list[tuple[Key, int]]:
    shard = booking_id % SHARDS
    return [((d.day, department_id, doctor_id, str(d.metric), shard), d.amount) for d in deltas]


def deltas_of(change: BookingChanged) -> list[Delta]:
    return booking_deltas(
        change.from_status,
        change.to_status,
        at=change.at,
        visit_date=change.visit_date,
        slot_starts_at=change.slot_starts_at,
        tz=hospital_zone(),
        from_waitlist=change.waitlist_entry_id is not None,
    )


async def booking_changed(change: BookingChanged) -> None:
    doctor_id = await doctor_of(change.schedule_id)
    await add(
        booking_keys(
            deltas_of(change),
            department_id=change.department_id,
            doctor_id=doctor_id,
            booking_id=change.booking_id,
        )
    )


async def schedule_changed(change: ScheduleChanged) -> None:
    """A stopped session leaves utilization: what its bookings still count on its day is taken out."""
    if change.to_status is not ScheduleStatus.STOPPED:
        return
    schedule = await Schedule.get(id=change.schedule_id)
    # Runs after the stop cancelled what it cancels: the rest reached the doctor.
    kept: list[int] = await Booking.filter(  # type: ignore[assignment]
        schedule_id=schedule.id, status__not_in=[BookingStatus.CANCELLED, BookingStatus.EXPIRED]
    ).values_list("id", flat=True)
    checked_in: list[int] = await BookingEvent.filter(  # type: ignore[assignment]
        booking__schedule_id=schedule.id,
        from_status=BookingStatus.CONFIRMED,
        to_status=BookingStatus.CHECKED_IN,
    ).values_list("booking_id", flat=True)
    counts: list[tuple[Key, int]] = []
    for metric, ids in ((Metric.VISIT_BOOKED, kept), (Metric.VISIT_CONSUMED, checked_in)):
        for booking_id in ids:
            key = (
                schedule.date,
                schedule.department_id,
                schedule.doctor_id,
                metric.value,
                booking_id % SHARDS,
            )
            counts.append((key, -1))
    await add(counts)


async def money_moved(order: PaymentOrder, metric: Metric, amount: int, at: datetime) -> None:
    """Fee revenue: an order paid or a refund succeeded, on the local day it happened (decision 181).

    Called in the transaction that records the payment or the refund, where those are settled
    (resolvers/payments.py), until the payment writers go through the reactions too.
    """
    department_id, schedule_id = 0, None
    if order.booking_id is not None:
        booking = await Booking.get(id=order.booking_id).only("id", "department_id", "schedule_id")
        department_id, schedule_id = booking.department_id, booking.schedule_id
    elif order.waitlist_entry_id is not None:
        entry = await WaitlistEntry.get(id=order.waitlist_entry_id).only("id", "department_id", "schedule_id")
        department_id, schedule_id = entry.department_id, entry.schedule_id
    doctor_id = await doctor_of(schedule_id) if schedule_id is not None else 0
    key = (local_day(at, hospital_zone()), department_id, doctor_id, metric.value, order.id % SHARDS)
    await add([(key, amount)])


async def fold_shards(before: date, limit: int = 1000) -> int:
    """Fold the shards of days before `before` into shard 0: a closed day needs no spreading, and a
    year's read then sums a quarter of the rows. Safe beside other processes doing the same (rows
    locked, then deleted, in one transaction). Returns the rows folded."""
    async with in_transaction():
        rows = (
            await DailyFigure.filter(day__lt=before, shard__gt=0)
            .select_for_update()
            .order_by("id")
            .limit(limit)
            .values("id", "day", "department_id", "doctor_id", "metric", "value")
        )
        if not rows:
            return 0
        await DailyFigure.filter(id__in=[row["id"] for row in rows]).delete()
        await add(
            ((row["day"], row["department_id"], row["doctor_id"], row["metric"], 0), row["value"])
            for row in rows
        )
    return len(rows)
