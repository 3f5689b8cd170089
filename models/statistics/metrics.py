"""What each booking change adds to the daily counters (pure: no database).

A counter is named for its date axis. Booking-date counters fall on the local day the change happened
(so a closed day never changes again); visit-date counters fall on the session's date (they settle when
the session's no-shows are swept). The rollup applies `booking_deltas` to every change as it happens;
the recomputation from raw records applies the same function to every row of booking_event, so the two
can be compared exactly (tests/statistics/test_month_recomputed.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from models.booking.status import ACTIVE, RELEASES_SEAT, BookingStatus
from models.waitlist.entries import ACTIVE as ACTIVE_ENTRY
from models.waitlist.entries import WaitlistStatus

B = BookingStatus
IN_LINE = frozenset({WaitlistStatus.WAITING, WaitlistStatus.OFFERED})


class Axis(StrEnum):
    BOOKING = "booking"  # the local day the change happened
    VISIT = "visit"  # the session's date


class Metric(StrEnum):
    # booking-date axis
    REGISTRATIONS = "registrations"  # bookings placed (any first status)
    HOLDS = "holds"  # placed waiting for payment
    PAID = "paid"  # holds paid (pending -> confirmed)
    CONFIRMED = "confirmed"  # bookings reaching confirmed
    LAPSED = "lapsed"  # holds whose payment lapsed (pending -> expired)
    CANCELLED = "cancelled"  # cancelled by anyone, from any active status
    CANCELLED_LATE = "cancelled_late"  # cancelled less than 24 h before the slot
    # refused booking attempts, one counter per reason (models/statistics/refusals.py)
    REFUSED_SOLD_OUT = "refused_sold_out"
    REFUSED_NOT_RELEASED = "refused_not_released"
    REFUSED_QUOTA = "refused_quota"
    REFUSED_DUPLICATE = "refused_duplicate"
    REFUSED_BLACKLISTED = "refused_blacklisted"
    REFUSED_CLOSED = "refused_closed"
    # seats given back (cancelled or lapsed), and placements by the waitlist that refilled them
    SEATS_FREED = "seats_freed"
    REFILLED = "refilled"
    # payment-date axis (the local day the money moved), in fen
    REVENUE_PAID = "revenue_paid"
    REVENUE_REFUNDED = "revenue_refunded"
    # visit-date axis
    VISIT_BOOKED = "visit_booked"  # seats held or used (placed minus cancelled/expired); stopped sessions out
    VISIT_CONSUMED = "visit_consumed"  # bookings checked in; stopped sessions out
    VISIT_CONFIRMED = "visit_confirmed"  # confirmed bookings not cancelled (the no-show denominator)
    VISIT_NO_SHOW = "visit_no_show"
    VISIT_COMPLETED = "visit_completed"
    # 预约诊疗率's numerator: completed visits not registered at the desk (the denominator is
    # VISIT_COMPLETED, walk-ins included).
    VISIT_COMPLETED_BOOKED = "visit_completed_booked"
    # Waitlist conversion (visit date of the entry): entries that were in line when they ended, and
    # those of them that ended with a seat.
    VISIT_WAITERS = "visit_waiters"
    VISIT_WAITLIST_BOOKED = "visit_waitlist_booked"


REFUSALS: tuple[Metric, ...] = (
    Metric.REFUSED_SOLD_OUT,
    Metric.REFUSED_NOT_RELEASED,
    Metric.REFUSED_QUOTA,
    Metric.REFUSED_DUPLICATE,
    Metric.REFUSED_BLACKLISTED,
    Metric.REFUSED_CLOSED,
)
# Counters a stopped session takes out of the visit day: its capacity leaves the denominator.
STOP_EXCLUDES: tuple[Metric, ...] = (Metric.VISIT_BOOKED, Metric.VISIT_CONSUMED)

LATE_CANCELLATION = timedelta(hours=24)


# Durations as histograms, because percentiles cannot be summed over days or doctors but histograms
# can: one counter per bucket, named for its lower edge in minutes. One-minute buckets up to half an
# hour, five-minute ones up to two hours, half-hour ones up to four, then one open bucket.
BUCKET_EDGES: tuple[int, ...] = (*range(30), *range(30, 120, 5), *range(120, 240, 30), 240)
WAIT_PREFIX = "visit_wait_"  # called - max(check-in, slot start)
CONSULT_PREFIX = "visit_consult_"  # completed - called


def bucket_of(minutes: int) -> int:
    """The lower edge of the bucket holding `minutes` (negative durations count as zero)."""
    chosen = 0
    for edge in BUCKET_EDGES:
        if edge > minutes:
            break
        chosen = edge
    return chosen


def bucket_metric(prefix: str, minutes: int) -> str:
    return f"{prefix}{bucket_of(minutes):03d}"


def visit_durations(
    *,
    checked_in_at: datetime,
    called_at: datetime | None,
    finished_at: datetime | None,
    slot_starts_at: datetime,
    visit_date: date,
) -> list[Delta]:
    """The two histogram counters a finished consultation moves, on its visit date."""
    if called_at is None:
        return []
    out = []
    arrived = max(checked_in_at, slot_starts_at)
    waited = int((called_at - arrived).total_seconds() // 60)
    out.append(Delta(bucket_metric(WAIT_PREFIX, waited), visit_date, 1))
    if finished_at is not None:
        consulted = int((finished_at - called_at).total_seconds() // 60)
        out.append(Delta(bucket_metric(CONSULT_PREFIX, consulted), visit_date, 1))
    return out


def waitlist_deltas(
    from_status: WaitlistStatus, to_status: WaitlistStatus, *, visit_date: date
) -> list[Delta]:
    """An entry that leaves the line (waiting or offered) is a waiter; ending booked, a converted one."""
    if from_status not in IN_LINE or to_status in ACTIVE_ENTRY:
        return []
    out = [Delta(Metric.VISIT_WAITERS, visit_date, 1)]
    if to_status is WaitlistStatus.BOOKED:
        out.append(Delta(Metric.VISIT_WAITLIST_BOOKED, visit_date, 1))
    return out


def axis_of(metric: str) -> Axis:
    return Axis.VISIT if metric.startswith("visit_") else Axis.BOOKING


def placed_in_hour(hour: int) -> str:
    """Peak hours: bookings placed in each local hour (booking date), 24 counters a day."""
    return f"placed_h{hour:02d}"


HOURS: tuple[str, ...] = tuple(placed_in_hour(hour) for hour in range(24))


@dataclass(frozen=True)
class Delta:
    metric: str  # a Metric, or one of HOURS
    day: date
    amount: int


def local_day(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def booking_deltas(
    from_status: BookingStatus | None,
    to_status: BookingStatus,
    *,
    at: datetime,
    visit_date: date,
    slot_starts_at: datetime,
    tz: ZoneInfo,
    from_waitlist: bool = False,
    walk_in: bool = False,
) -> list[Delta]:
    """The counters one booking change moves: placed (`from_status` None) or moved."""
    today = local_day(at, tz)
    out: list[Delta] = []

    def on_booking_day(metric: str, amount: int = 1) -> None:
        out.append(Delta(metric, today, amount))

    def on_visit_day(metric: Metric, amount: int = 1) -> None:
        out.append(Delta(metric, visit_date, amount))

    if from_status is None:
        on_booking_day(Metric.REGISTRATIONS)
        on_booking_day(placed_in_hour(at.astimezone(tz).hour))
        if from_waitlist:
            on_booking_day(Metric.REFILLED)
        on_visit_day(Metric.VISIT_BOOKED)
        if to_status is B.PENDING_PAYMENT:
            on_booking_day(Metric.HOLDS)
    else:
        if from_status in ACTIVE and to_status in RELEASES_SEAT:
            on_visit_day(Metric.VISIT_BOOKED, -1)
            on_booking_day(Metric.SEATS_FREED)
        if from_status is B.PENDING_PAYMENT and to_status is B.CONFIRMED:
            on_booking_day(Metric.PAID)
        if from_status is B.PENDING_PAYMENT and to_status is B.EXPIRED:
            on_booking_day(Metric.LAPSED)
        if to_status is B.CANCELLED:
            on_booking_day(Metric.CANCELLED)
            if slot_starts_at - at < LATE_CANCELLATION:
                on_booking_day(Metric.CANCELLED_LATE)
        if from_status is B.CONFIRMED and to_status is B.CANCELLED:
            on_visit_day(Metric.VISIT_CONFIRMED, -1)
        if from_status is B.CONFIRMED and to_status is B.CHECKED_IN:
            on_visit_day(Metric.VISIT_CONSUMED)
    if to_status is B.CONFIRMED:
        on_booking_day(Metric.CONFIRMED)
        on_visit_day(Metric.VISIT_CONFIRMED)
    if to_status is B.NO_SHOW:
        on_visit_day(Metric.VISIT_NO_SHOW)
    if to_status is B.COMPLETED:
        on_visit_day(Metric.VISIT_COMPLETED)
        if not walk_in:
            on_visit_day(Metric.VISIT_COMPLETED_BOOKED)
    return out
