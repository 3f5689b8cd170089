"""Every rollup counter recomputed from the raw records (booking_event, booking, schedule, payments,
queue tickets, waitlist entries).

The same pure function as the rollup (metrics.booking_deltas) applied to each recorded change, so a
difference means a change that did not pass the rollup, or a lost update. Refusals have no raw record
beyond their counter and are left out.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from models.booking.status import BookingStatus
from models.booking.tables import WAITLIST_KEY_PREFIX, Booking, BookingEvent, is_walk_in
from models.payments import PaymentOrder, Refund, RefundStatus
from models.queueing import QueueTicket, TicketState
from models.scheduling import Schedule, ScheduleStatus
from models.statistics.metrics import (
    REFUSALS,
    STOP_EXCLUDES,
    Metric,
    booking_deltas,
    local_day,
    visit_durations,
    waitlist_deltas,
)
from models.statistics.tables import DailyFigure, DailyPayer
from models.waitlist.entries import ACTIVE, WaitlistEntry, WaitlistStatus

Figures = Counter[tuple[date, int, int, str]]  # day, department, doctor, metric -> value


async def from_raw_records(tz: ZoneInfo, doctor_ids: set[int] | None = None) -> Figures:
    schedules = {row["id"]: row for row in await Schedule.all().values("id", "doctor_id", "status")}
    bookings = {
        row["id"]: row
        for row in await Booking.all().values(
            "id", "schedule_id", "department_id", "visit_date", "slot_starts_at", "idempotency_key"
        )
    }
    out: Figures = Counter()
    for event in (
        await BookingEvent.all().order_by("id").values("booking_id", "from_status", "to_status", "at")
    ):
        booking = bookings[event["booking_id"]]
        schedule = schedules[booking["schedule_id"]]
        stopped = schedule["status"] == ScheduleStatus.STOPPED
        source = event["from_status"]
        for delta in booking_deltas(
            BookingStatus(source) if source is not None else None,
            BookingStatus(event["to_status"]),
            at=event["at"],
            visit_date=booking["visit_date"],
            slot_starts_at=booking["slot_starts_at"],
            tz=tz,
            from_waitlist=booking["idempotency_key"].startswith(WAITLIST_KEY_PREFIX),
            walk_in=is_walk_in(booking["idempotency_key"]),
        ):
            if stopped and delta.metric in STOP_EXCLUDES:
                continue
            out[(delta.day, booking["department_id"], schedule["doctor_id"], str(delta.metric))] += (
                delta.amount
            )
    for ticket in await QueueTicket.filter(state=TicketState.DONE).values(
        "booking_id", "checked_in_at", "called_at", "finished_at", "visit_date", "department_id"
    ):
        booking = bookings[ticket["booking_id"]]
        for delta in visit_durations(
            checked_in_at=ticket["checked_in_at"],
            called_at=ticket["called_at"],
            finished_at=ticket["finished_at"],
            slot_starts_at=booking["slot_starts_at"],
            visit_date=ticket["visit_date"],
        ):
            doctor_id = schedules[booking["schedule_id"]]["doctor_id"]
            out[(delta.day, ticket["department_id"], doctor_id, delta.metric)] += delta.amount
    entries = {
        row["id"]: row
        for row in await WaitlistEntry.all().values(
            "id", "department_id", "schedule_id", "visit_date", "status", "payment_expires_at"
        )
    }
    for entry in entries.values():
        status = WaitlistStatus(entry["status"])
        # An entry that entered the line lost its payment hold (or never had one).
        if status in ACTIVE or entry["payment_expires_at"] is not None:
            continue
        doctor_id = schedules[entry["schedule_id"]]["doctor_id"] if entry["schedule_id"] else 0
        for delta in waitlist_deltas(WaitlistStatus.WAITING, status, visit_date=entry["visit_date"]):
            out[(delta.day, entry["department_id"], doctor_id, str(delta.metric))] += delta.amount

    def owner(order: dict[str, Any]) -> tuple[int, int]:
        # The department and doctor whose session the money was for (as rollup.money_moved finds them).
        if order["booking_id"] is not None:
            booking = bookings[order["booking_id"]]
            return booking["department_id"], schedules[booking["schedule_id"]]["doctor_id"]
        entry = entries.get(order["waitlist_entry_id"])
        if entry is None:
            return 0, 0
        schedule = schedules.get(entry["schedule_id"])
        return entry["department_id"], schedule["doctor_id"] if schedule else 0

    orders = {
        row["id"]: row
        for row in await PaymentOrder.all().values(
            "id", "booking_id", "waitlist_entry_id", "paid_amount", "paid_at"
        )
    }
    for order in orders.values():
        if order["paid_at"] is not None:
            department_id, doctor_id = owner(order)
            day = local_day(order["paid_at"], tz)
            out[(day, department_id, doctor_id, Metric.REVENUE_PAID.value)] += order["paid_amount"]
    for refund in await Refund.filter(status=RefundStatus.SUCCEEDED).values(
        "order_id", "amount", "succeeded_at"
    ):
        department_id, doctor_id = owner(orders[refund["order_id"]])
        day = local_day(refund["succeeded_at"], tz)
        out[(day, department_id, doctor_id, Metric.REVENUE_REFUNDED.value)] += refund["amount"]
    return _without_zeroes(out, doctor_ids)


async def payers_from_raw_records(tz: ZoneInfo) -> set[tuple[date, int]]:
    """(local day, account) of every fee paid: the paying-user ARPU's distinct payers."""
    rows = await PaymentOrder.filter(paid_at__isnull=False).values("account_id", "paid_at")
    return {(local_day(row["paid_at"], tz), row["account_id"]) for row in rows}


async def payers_from_rollup() -> set[tuple[date, int]]:
    return {(row["day"], row["account_id"]) for row in await DailyPayer.all().values("day", "account_id")}


async def from_rollup(doctor_ids: set[int] | None = None) -> Figures:
    out: Figures = Counter()
    refusals = {metric.value for metric in REFUSALS}
    for row in await DailyFigure.all().values("day", "department_id", "doctor_id", "metric", "value"):
        if row["metric"] not in refusals:
            out[(row["day"], row["department_id"], row["doctor_id"], row["metric"])] += row["value"]
    return _without_zeroes(out, doctor_ids)


def _without_zeroes(figures: Figures, doctor_ids: set[int] | None) -> Figures:
    kept = {key: value for key, value in figures.items() if value}
    return Counter({key: value for key, value in kept.items() if doctor_ids is None or key[2] in doctor_ids})
