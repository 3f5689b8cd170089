"""The daily rollup: counters moved in the transaction of each change (docs/decisions/180).

`add` is one multi-row upsert (`value = value + delta`), which is atomic on every database, so
concurrent changes from any number of processes never lose an increment. Rows are written in key
order, so two transactions upserting the same counters never wait on each other in a cycle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.transactions import in_transaction

from models.booking.status import BookingStatus
from models.booking.tables import Booking, BookingEvent
from models.booking.transition import BookingChanged
from models.clock import utcnow
from models.notifications import notice_defaults
from models.payments import OrderChanged, RefundChanged
from models.queueing import QueueTicket, TicketChanged
from models.scheduling import Schedule, ScheduleChanged, ScheduleStatus
from models.statistics import frozen
from models.statistics.metrics import (
    Delta,
    Metric,
    booking_deltas,
    local_day,
    visit_durations,
    waitlist_deltas,
)
from models.statistics.tables import DailyFigure
from models.waitlist.entries import WaitlistChanged, WaitlistEntry

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
    """Add each amount to its counter, creating missing rows; in the caller's transaction. A change to
    a day already frozen into coarser rows adds to them too (decision 257); placements never do (they
    count on today and coming days), so the check costs them nothing."""
    rows = _merged(counts)
    if not rows:
        return
    today = local_day(utcnow(), hospital_zone())
    past = [(key, amount) for key, amount in rows if key[0] < today]
    if past:
        await frozen.keep_current(past)
    await _upsert(rows)


def _merged(counts: Iterable[tuple[Key, int]]) -> list[tuple[Key, int]]:
    merged: Counter[Key] = Counter()
    for key, amount in counts:
        merged[key] += amount
    return sorted((key, amount) for key, amount in merged.items() if amount)


async def _upsert(rows: list[tuple[Key, int]]) -> None:
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
        walk_in=change.walk_in,
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


async def _owner(booking_id: int | None, waitlist_entry_id: int | None) -> tuple[int, int]:
    """The department and doctor whose session an order's money was for (0 when none)."""
    department_id, schedule_id = 0, None
    if booking_id is not None:
        booking = await Booking.get(id=booking_id).only("id", "department_id", "schedule_id")
        department_id, schedule_id = booking.department_id, booking.schedule_id
    elif waitlist_entry_id is not None:
        entry = await WaitlistEntry.get(id=waitlist_entry_id).only("id", "department_id", "schedule_id")
        department_id, schedule_id = entry.department_id, entry.schedule_id
    doctor_id = await doctor_of(schedule_id) if schedule_id is not None else 0
    return department_id, doctor_id


async def order_paid(change: OrderChanged) -> None:
    """Fee revenue and a paying account, on the local day the money arrived (decision 250): in the
    transaction of the order's change to PAID, which happens once however often the provider tells."""
    paid_at = change.paid_at or change.at
    day = local_day(paid_at, hospital_zone())
    department_id, doctor_id = await _owner(change.booking_id, change.waitlist_entry_id)
    key = (day, department_id, doctor_id, Metric.REVENUE_PAID.value, change.order_id % SHARDS)
    await add([(key, change.paid_amount)])
    await paid_by(change.account_id, day)


async def refund_succeeded(change: RefundChanged) -> None:
    at = change.succeeded_at or change.at
    department_id, doctor_id = await _owner(change.booking_id, change.waitlist_entry_id)
    key = (
        local_day(at, hospital_zone()),
        department_id,
        doctor_id,
        Metric.REVENUE_REFUNDED.value,
        change.order_id % SHARDS,
    )
    await add([(key, change.amount)])


_PAYER = {
    "sqlite": "INSERT INTO stat_payer (account_id, day) VALUES (?, ?) ON CONFLICT DO NOTHING",
    "postgres": "INSERT INTO stat_payer (account_id, day) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    "mysql": "INSERT IGNORE INTO stat_payer (account_id, day) VALUES (%s, %s)",
}


async def paid_by(account_id: int, day: date) -> None:
    client = connections.get("default")
    dialect = client.capabilities.dialect
    await client.execute_query(_PAYER[dialect], [account_id, day.isoformat() if dialect == "sqlite" else day])


async def consultation_finished(change: TicketChanged) -> None:
    """Wait after arrival and consultation length, as histogram counters on the visit date."""
    ticket = await QueueTicket.get(id=change.ticket_id).only(
        "id", "checked_in_at", "called_at", "finished_at", "visit_date", "department_id", "booking_id"
    )
    booking = await Booking.get(id=change.booking_id).only("id", "schedule_id", "slot_starts_at")
    deltas = visit_durations(
        checked_in_at=ticket.checked_in_at,
        called_at=ticket.called_at,
        finished_at=ticket.finished_at or change.at,
        slot_starts_at=booking.slot_starts_at,
        visit_date=ticket.visit_date,
    )
    doctor_id = await doctor_of(booking.schedule_id)
    await add(
        booking_keys(deltas, department_id=ticket.department_id, doctor_id=doctor_id, booking_id=booking.id)
    )


async def entry_changed(change: WaitlistChanged) -> None:
    deltas = waitlist_deltas(change.from_status, change.to_status, visit_date=change.visit_date)
    if not deltas:
        return
    entry = await WaitlistEntry.get(id=change.entry_id).only("id", "schedule_id")
    doctor_id = await doctor_of(entry.schedule_id) if entry.schedule_id is not None else 0
    shard = change.entry_id % SHARDS
    await add(((d.day, change.department_id, doctor_id, str(d.metric), shard), d.amount) for d in deltas)


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
        # The same sums in another shard: the frozen rows (if any) are already right.
        folded = _merged(
            ((row["day"], row["department_id"], row["doctor_id"], row["metric"], 0), row["value"])
            for row in rows
        )
        if folded:
            await _upsert(folded)
    return len(rows)
